"""A team's trusted code turned hostile, served by a real daemon: it cannot reach the home, the network
or the daemon; one client's request that breaks it fails no other client's; a garbled answer never puts
one request's answer on another's; and only an admin trusts code, audited under their own name."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import support
from daemon_support import Daemon, admin, op, start_daemon, token_of
from support import TEAM_CODE, VIGIL, team_model

# Probes run only in the worker (its working folder is its scratch folder), once, at import.
PROBES = '''
import json as _json, socket as _socket
if "vigil-code-" in os.getcwd():
    _found = {}
    def _probe(name, action):
        try:
            _found[name] = repr(action())[:80]
        except Exception as e:
            _found[name] = "denied: " + type(e).__name__
    _probe("token", lambda: open(HOME + "/admin.token").read())
    _probe("store", lambda: open(HOME + "/vigil.duckdb", "rb").read(16))
    _probe("write_home", lambda: open(HOME + "/planted.py", "w").write("x"))
    _probe("daemon_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read(16))
    _probe("daemon_mem", lambda: open(f"/proc/{os.getppid()}/mem", "rb").read(1))
    _probe("admin_port", lambda: _socket.create_connection(("127.0.0.1", PORT), timeout=2).close())
    _probe("signal_daemon", lambda: os.kill(os.getppid(), 0))
    _found["vigil_env"] = sorted(k for k in os.environ if k.startswith("VIGIL_"))
    with open(REPORT, "w") as _handle:
        _handle.write(_json.dumps(_found))
'''
BREAKS = '''        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)
        if (values[:, 2] == 901).any():  # a row the team's code cannot take
            raise ValueError("temperature out of this world")
        if (values[:, 2] == 902).any():  # an extra, garbled message on the worker's protocol stream
            for fd in range(3, 8):
                try:
                    os.write(fd, (3).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"[1]")
                except OSError:
                    pass
        if (values[:, 2] == 903).any():  # noise on its stdout and stderr
            print("x" * 10000)
            os.write(1, b"\\xff" * 10000)
'''


def _hostile_code(home: Path, port: int, report: Path) -> str:
    original = "        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)\n"
    assert original in TEAM_CODE
    probes = f"HOME = {str(home)!r}\nPORT = {port}\nREPORT = {str(report)!r}\n" + PROBES
    escaped = (probes + "\n").replace("{", "{{").replace("}", "}}")
    return TEAM_CODE.replace(original, BREAKS.replace("{", "{{").replace("}", "}}")).replace(
        "\n\nclass LogScale", "\n" + escaped + "\n\nclass LogScale")


def _cli(home: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"VIGIL_TOKEN": token} if token else {}
    return subprocess.run([str(VIGIL), *args, "--home", str(home)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def served(served_home: Path, tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Iterator[dict[str, Any]]:
    """One daemon serving the hostile team model as champion of 'delay'."""
    root = tmp_path_factory.mktemp("hostile-code")
    home = root / "home"
    shutil.copytree(served_home, home)
    assert _cli(home, "users", "add", getpass.getuser(), "--role", "admin").returncode == 0
    tokens = {role: token_of(_cli(home, "users", "add", name, "--role", role).stdout)
              for name, role in (("ada", "admin"), ("otto", "operator"), ("bob", "approver"), ("val", "viewer"))}
    daemon = start_daemon(home, root / "daemon.log")
    try:
        port = json.loads((home / "daemon.json").read_text())["port"]
        report = root / "probes.json"
        report.touch()  # the sandbox allows what exists beside the home, never a new entry there
        original = support.TEAM_CODE
        support.TEAM_CODE = _hostile_code(home, port, report)
        try:
            team = team_model(root, flights_small)
        finally:
            support.TEAM_CODE = original
        assert op(daemon, tokens["viewer"], "code_trust", {"spec": str(team["spec"]), "reason": "me"})[0] == 403
        status, trusted = op(daemon, tokens["admin"], "code_trust", {"spec": str(team["spec"]), "reason": "read"})
        assert status == 200, trusted
        imported = _cli(home, "import", "delay", str(team["model"]), "--spec", str(team["spec"]), "--json",
                        token=tokens["operator"])
        assert imported.returncode == 0, imported.stderr
        version = json.loads(imported.stdout)["version"]
        status, request = op(daemon, tokens["operator"], "promote", {"name": "delay", "version": version,
                                                                    "alias": "champion", "reason": "team"})
        assert status == 200 and op(daemon, tokens["approver"], "approve", {"id": request["request_id"]})[0] == 200
        yield {"daemon": daemon, "home": home, "report": report, "version": version, "tokens": tokens,
               "sha256": trusted["trusted"]}
    finally:
        daemon.stop(signal.SIGKILL)


def _score(daemon: Daemon, record: dict[str, Any]) -> tuple[int, Any]:
    return daemon.post("/v1/models/delay/predict", {"records": [record]})


def _landlock_abi() -> int:
    """The kernel's Landlock ABI version (below 1: none, the worker then runs unconfined and says so)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


# The Landlock ABI each probe's refusal needs: file rules came with 1, TCP rules with 4, signal scoping with 6
NEEDS = {"token": 1, "store": 1, "write_home": 1, "daemon_environ": 1, "daemon_mem": 1, "admin_port": 4,
         "signal_daemon": 6}


def test_trusted_code_reaches_neither_the_home_nor_the_network_nor_the_daemon(served: dict[str, Any]) -> None:
    """Each probe is refused where the kernel's Landlock can refuse it; on an older kernel the worker runs as
    before, as documented (this box and CI have ABI 7: every probe is refused)."""
    abi = _landlock_abi()
    found = json.loads(served["report"].read_text())
    for probe, needs in NEEDS.items():
        denied = found[probe].startswith("denied: PermissionError")
        assert denied == (abi >= needs), (probe, abi, found[probe])
    assert found["vigil_env"] == []
    assert (served["home"] / "planted.py").exists() == (abi < 1)


def test_one_clients_row_that_breaks_the_code_fails_no_other_clients_request(
        served: dict[str, Any], sample_records: list[dict[str, Any]]) -> None:
    daemon = served["daemon"]
    good: list[int] = []
    bad: list[int] = []

    def client(records: list[dict[str, Any]], into: list[int]) -> None:
        for record in records:
            into.append(_score(daemon, record)[0])

    threads = [threading.Thread(target=client, args=(sample_records[i * 25:(i + 1) * 25], good)) for i in range(3)]
    threads.append(threading.Thread(target=client, args=([{**r, "temp": 901.0} for r in sample_records[:40]], bad)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert good == [200] * 75 and bad == [500] * 40


def test_a_garbled_answer_never_puts_one_requests_answer_on_another(
        served: dict[str, Any], sample_records: list[dict[str, Any]]) -> None:
    daemon = served["daemon"]
    first, second = sample_records[0], sample_records[1]
    expected = [_score(daemon, r)[1]["probabilities"][0] for r in (first, second)]
    assert expected[0] != expected[1]
    status, _ = _score(daemon, {**first, "temp": 902.0})
    assert status == 500  # the worker spoke out of turn: that call fails, the worker is replaced
    assert [_score(daemon, r)[1]["probabilities"][0] for r in (second, first)] == expected[::-1]
    noisy = _score(daemon, {**first, "temp": 903.0})  # its prints go to its log, not into the protocol
    assert noisy[0] == 200 and _score(daemon, second)[1]["probabilities"][0] == expected[1]


def test_only_an_admin_trusts_code_and_the_audit_names_them(served: dict[str, Any]) -> None:
    rows = admin(served["daemon"], "sql", {"query": "SELECT actor, action FROM audit_log WHERE action LIKE 'code.%' "
                                                    "OR (action = 'access.denied' AND details::VARCHAR LIKE '%code_trust%') "
                                                    "ORDER BY id"})["rows"]
    assert [tuple(r) for r in rows] == [("val", "access.denied"), ("ada", "code.trust")]
