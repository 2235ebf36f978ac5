"""Trusted imports: admin-only, audited before anything loads, unpickled only in a short-lived child process.

The evil pickles here run code when loaded: they append a line with the pid and parent pid of the
process that unpickled them to a marker file. That file tells which process ran the code, and how
often: never the daemon, and never at all when the import was refused.
"""

from __future__ import annotations

import ast
import getpass
import hashlib
import json
import pickle
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import skops.io as sio

from daemon_support import Daemon, start_daemon, token_of
from support import SPEC, query

APPLIANCE = Path(__file__).resolve().parents[2] / "appliance"


class _Payload:
    """Unpickles by evaluating `expression` (a builtin call: the unpickling process needs no test code)."""

    def __init__(self, expression: str) -> None:
        self.expression = expression

    def __reduce__(self) -> tuple[Any, ...]:
        return eval, (self.expression,)


def _evil_pickle(path: Path, marker: Path, model: Any = None) -> Path:
    """A pickle that appends 'pid ppid time' to `marker` when loaded, then yields `model` (or None)."""
    record = (f"__import__('builtins').open({str(marker)!r}, 'a').write("
              "'%d %d %.6f\\n' % (__import__('os').getpid(), __import__('os').getppid(), __import__('time').time()))")
    inner = f"__import__('pickle').loads({pickle.dumps(model)!r})" if model is not None else "None"
    path.write_bytes(pickle.dumps(_Payload(f"({record}, {inner})[1]")))
    return path


def _served_model(home: Path) -> Any:
    """The served home's v1 pipeline, a real scikit-learn model as a data scientist would pickle it."""
    artifact = query(home, "SELECT a.path FROM model_versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256 "
                           "WHERE v.model_name = 'delay' AND v.version = 1")[0][0]
    data = (home / artifact).read_bytes()
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))



def _users(home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    """The OS account as admin (to add the others), then tokens for an admin, an operator and an approver."""
    assert vigil("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    return {role: token_of(vigil("users", "add", name, "--role", role, "--home", home).out)
            for name, role in (("ada", "admin"), ("otto", "operator"), ("bob", "approver"))}


def _post(daemon: Daemon, name: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                        headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(payload)


def _marker_lines(marker: Path) -> list[tuple[int, int, float]]:
    if not marker.exists():
        return []
    return [(int(p), int(pp), float(t)) for p, pp, t in (line.split() for line in marker.read_text().splitlines())]


@pytest.fixture
def spec(tmp_path: Path, flights_small: Path) -> Path:
    path = tmp_path / "import-spec.toml"
    path.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
    return path


def test_an_operator_cannot_run_a_trusted_import_and_nothing_loads(fresh_home: Path, tmp_path: Path, spec: Path,
                                                                   vigil: Callable[..., Any]) -> None:
    tokens = _users(fresh_home, vigil)
    marker = tmp_path / "marker.txt"
    evil = _evil_pickle(tmp_path / "evil.pkl", marker, _served_model(fresh_home))
    as_otto = {"VIGIL_TOKEN": tokens["operator"]}
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        cli = vigil("import", "delay", evil, "--spec", spec, "--trust", "--home", fresh_home, env=as_otto)
        assert cli.code == 2 and "otto (operator) may not run 'import_trusted'; it needs the admin role" in cli.err
        assert "Traceback" not in cli.err and len(cli.err.strip().splitlines()) == 1
        plain = vigil("import", "delay", evil, "--spec", spec, "--home", fresh_home, env=as_otto)
        assert plain.code == 2 and "runs code when loaded" in plain.err and "admin" in plain.err
        arguments = {"name": "delay", "file": str(evil), "spec": str(spec), "reason": "x"}
        status, body = _post(daemon, "import_trusted", arguments, tokens["operator"])
        assert status == 403 and body["error"]["type"] == "Forbidden"
        status, body = _post(daemon, "import", {**arguments, "trust": True}, tokens["operator"])
        assert status == 400 and [e["field"] for e in body["error"]["errors"]] == ["trust"]
        assert not marker.exists()  # no process ever unpickled the file
    finally:
        daemon.stop()
    assert not marker.exists()
    denied = query(fresh_home, "SELECT actor, details->>'operation' FROM audit_log WHERE action = 'access.denied' "
                               "ORDER BY id")
    assert denied == [("otto", "import_trusted"), ("otto", "import_trusted")]
    assert query(fresh_home, "SELECT count(*) FROM audit_log WHERE action = 'import.trusted_load'") == [(0,)]
    assert query(fresh_home, "SELECT max(version) FROM model_versions WHERE model_name = 'delay'") == [(2,)]


def test_an_admin_trusted_import_unpickles_only_in_a_child_and_then_serves(
        fresh_home: Path, tmp_path: Path, spec: Path, vigil: Callable[..., Any],
        sample_records: list[dict[str, Any]]) -> None:
    tokens = _users(fresh_home, vigil)
    as_ada = {"VIGIL_TOKEN": tokens["admin"]}
    marker = tmp_path / "marker.txt"
    not_a_model = _evil_pickle(tmp_path / "not-a-model.pkl", marker)
    evil = _evil_pickle(tmp_path / "evil.pkl", marker, _served_model(fresh_home))
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    daemon_pid = daemon.process.pid
    try:
        refused = vigil("import", "delay", not_a_model, "--spec", spec, "--trust", "--home", fresh_home, env=as_ada)
        assert refused.code == 2 and "Traceback" not in refused.err
        assert "not-a-model.pkl: it holds a NoneType, not a model that predicts" in refused.err
        assert "a trusted import accepts a scikit-learn estimator or pipeline" in refused.err

        imported = vigil("import", "delay", evil, "--spec", spec, "--trust", "--reason", "vendor model", "--json",
                         "--home", fresh_home, env=as_ada)
        assert imported.code == 0, imported.err
        version = json.loads(imported.out)["version"]
        assert version == 3

        request = _post(daemon, "promote", {"name": "delay", "version": version, "alias": "champion",
                                            "reason": "vendor model"}, tokens["admin"])[1]["result"]
        assert request["status"] == "pending", request
        assert _post(daemon, "approve", {"id": request["request_id"]}, tokens["approver"])[0] == 200
        status, scored = daemon.post("/v1/models/delay/predict", {"records": sample_records[:5]})
        assert status == 200 and scored["version"] == version
        loads = _marker_lines(marker)
        assert len(loads) == 2  # each file ran its code once, while converted; serving never ran it again
        for pid, parent, _ in loads:
            assert pid != daemon_pid and parent == daemon_pid  # a child of the daemon, not the daemon
            assert not Path(f"/proc/{pid}").exists()  # short-lived: gone once the import answered
    finally:
        daemon.stop()
    audited = query(fresh_home, "SELECT id, actor, details->>'sha256', details->>'file', recorded_at FROM audit_log "
                                "WHERE action = 'import.trusted_load' ORDER BY id")
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in (not_a_model, evil)]
    assert [(row[1], row[2], row[3]) for row in audited] == [("ada", digests[0], str(not_a_model)),
                                                             ("ada", digests[1], str(evil))]
    for row, (_, _, loaded_at) in zip(audited, loads):  # each row was written before its file was loaded
        assert row[4] <= datetime.fromtimestamp(loaded_at, timezone.utc).replace(tzinfo=None)
    registered = query(fresh_home, "SELECT id FROM audit_log WHERE action = 'version.imported'")
    assert registered[0][0] > audited[1][0]
    shown = query(fresh_home, "SELECT imported_from->>'trusted', imported_from->>'sha256', a.format "
                              "FROM model_versions JOIN artifacts a ON a.sha256 = artifact_sha256 "
                              "WHERE model_name = 'delay' AND version = 3")
    assert shown == [("true", digests[1], "skops")]
    assert query(fresh_home, "SELECT count(*) FROM model_versions WHERE model_name = 'delay'") == [(3,)]


def _calls(path: Path) -> list[str]:
    """Dotted names of everything `path` calls, and `trust_all=True` where it is passed."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            found.append(ast.unparse(node.func))
            found += ["trust_all=True" for k in node.keywords
                      if k.arg == "trust_all" and isinstance(k.value, ast.Constant) and k.value.value is True]
    return found


def test_only_the_converting_child_unpickles() -> None:
    """No module the daemon runs calls pickle or joblib loaders, or loads skops trusting everything."""
    unsafe = {"pickle.load", "pickle.loads", "joblib.load", "trust_all=True", "_pickle.load", "_pickle.loads"}
    offenders = {p.relative_to(APPLIANCE).as_posix(): sorted(unsafe & set(_calls(p))) for p in APPLIANCE.rglob("*.py")}
    assert {path: calls for path, calls in offenders.items() if calls} == {
        "registry/conversion.py": ["joblib.load", "pickle.load", "trust_all=True"]}
    source = (APPLIANCE / "registry" / "conversion.py").read_text()
    child_side = source[source.index("# The child's side"):]
    assert "def main(" in child_side and "_load_any" not in source[:source.index("# The child's side")]


def test_a_file_that_hangs_is_stopped_and_the_child_gets_notoken_of(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A payload that never returns is killed at the timeout; the child's environment holds no Vigil token."""
    from appliance.errors import ArtifactError
    from appliance.registry.conversion import convert_trusted

    monkeypatch.setenv("VIGIL_TOKEN", "vgu_secret")
    seen = tmp_path / "environment.txt"
    hang = pickle.dumps(_Payload(f"(__import__('builtins').open({str(seen)!r}, 'w').write("
                                 "repr(__import__('os').environ.get('VIGIL_TOKEN'))), "
                                 "__import__('time').sleep(600))"))
    started = time.monotonic()
    with pytest.raises(ArtifactError, match="slow.pkl: loading it took longer than 3 s"):
        convert_trusted(hang, "slow.pkl", timeout_s=3)
    assert time.monotonic() - started < 30
    assert seen.read_text() == "None"
