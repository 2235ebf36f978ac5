"""Private files and confined outputs: the home is its account's alone whatever the umask, the daemon
refuses a home others may write to, and through the admin API outputs go only under `<home>/exports/`
(or `[exports] allowed_dirs`), never replacing a file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any, Callable

import polars as pl

from appliance.core.identity import current_account
from daemon_support import Daemon, start_daemon, token_of
from tests.support import VIGIL


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)



def _post(daemon: Daemon, name: str, body: dict[str, Any], bearer: str) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                        headers={"Authorization": f"Bearer {bearer}"})
    return status, json.loads(payload)


def _shared_bits(home: Path) -> list[str]:
    """Files and folders of the home that a group or other accounts may read, write or enter."""
    return [f"{p} {_mode(p):04o}" for p in [home, *home.rglob("*")] if not p.is_symlink() and _mode(p) & 0o077]


def _refused(daemon: Daemon, name: str, body: dict[str, Any], bearer: str, named: str) -> str:
    status, answer = _post(daemon, name, body, bearer)
    assert 400 <= status < 500, (name, status, answer)
    assert answer["error"]["type"] == "OutputRefused", answer
    message = answer["error"]["message"]
    assert named in message and "\n" not in message, message
    return str(message)


def _ok(daemon: Daemon, name: str, body: dict[str, Any], bearer: str) -> Any:
    status, answer = _post(daemon, name, body, bearer)
    assert status == 200, (name, answer)
    return answer["result"]


def _batches(daemon: Daemon) -> int:
    """Rows that batch scoring logged (read through the daemon, with its admin token)."""
    admin_token = (daemon.home / "admin.token").read_text().strip()
    status, found = _post(daemon, "sql", {"query": "SELECT count(*) FROM prediction_log WHERE route = 'batch'"},
                          admin_token)
    assert status == 200, found
    return int(found["result"]["rows"][0][0])


def _users(home: Path, vigil: Callable[..., Any]) -> str:
    """This OS account as admin, and an operator; returns the operator's token. The box gets a signing key."""
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", home).code == 0
    assert vigil("keys", "init", "--home", home).code == 0
    return token_of(vigil("users", "add", "otto", "--role", "operator", "--home", home).out)


def test_a_new_home_is_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run([str(VIGIL), "init", "--home", str(home)], capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    assert _mode(home) == 0o700
    assert _mode(home / "vigil.duckdb") == 0o600 and _mode(home / "vigil.toml") == 0o600
    assert {_mode(home / d) for d in ("artifacts", "datasets", "exports")} == {0o700}
    assert _shared_bits(home) == []


def test_the_daemon_refuses_a_home_others_may_write_to(fresh_home: Path) -> None:
    fresh_home.chmod(0o777)
    done = subprocess.run([str(VIGIL), "up", "--home", str(fresh_home), "--port", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"vigil: error: the home {fresh_home} is group- or world-writable (mode 0777): other "
                           f"accounts could replace its files; run `chmod 700 {fresh_home}`\n")
    assert not (fresh_home / "daemon.json").exists() and _mode(fresh_home) == 0o777  # nothing started or changed


def test_outputs_through_the_admin_api_go_only_where_allowed(fresh_home: Path, tmp_path: Path, flights_small: Path,
                                                             vigil: Callable[..., Any]) -> None:
    otto = _users(fresh_home, vigil)
    shared = tmp_path / "shared"
    (fresh_home / "vigil.toml").write_text(f'[exports]\nallowed_dirs = ["{shared}"]\n')
    config_before = (fresh_home / "vigil.toml").read_bytes()
    outside = tmp_path / "outside"
    (fresh_home / "exports").mkdir(exist_ok=True)
    (fresh_home / "exports" / "escape").symlink_to(outside, target_is_directory=True)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        bundle = {"name": "delay", "version": 1}
        message = _refused(daemon, "bundle_export", {**bundle, "file": str(fresh_home / "vigil.toml")}, otto,
                           str(fresh_home / "vigil.toml"))
        assert f"outputs go only under {fresh_home / 'exports'}/ or {shared}/" in message
        _refused(daemon, "bundle_export", {**bundle, "file": "/tmp/x"}, otto, "/tmp/x")
        _refused(daemon, "bundle_export", {**bundle, "file": f"{fresh_home}/exports/../vigil.toml"}, otto,
                 "vigil.toml")
        _refused(daemon, "bundle_export", {**bundle, "file": str(fresh_home / "exports" / "escape" / "b.vb")}, otto,
                 "escape/b.vb")  # a symlink out of exports/ is followed before the check
        _refused(daemon, "export", {"directory": str(outside / "lake")}, otto, "lake")
        _refused(daemon, "audit_export", {"directory": str(outside / "audit")}, otto, "audit")
        _refused(daemon, "report", {"name": "delay", "out": str(outside / "r.html")}, otto, "r.html")
        _refused(daemon, "score", {"name": "delay", "input": str(flights_small), "output": str(outside / "s.parquet")},
                 otto, "s.parquet")
        admin_token = (fresh_home / "admin.token").read_text().strip()
        _refused(daemon, "backup", {"directory": str(outside / "backup")}, admin_token, "backup")
        assert (fresh_home / "vigil.toml").read_bytes() == config_before and not outside.exists()
        assert _batches(daemon) == 0  # a refused batch scored nothing

        exports = fresh_home / "exports"
        made = _ok(daemon, "bundle_export", {**bundle, "file": "delay-v1.vb"}, otto)
        assert made["file"] == str(exports / "delay-v1.vb")  # a relative path is taken under exports/
        _ok(daemon, "bundle_export", {**bundle, "file": str(shared / "a" / "delay-v1.vb")}, otto)
        _ok(daemon, "export", {"directory": str(exports / "lake")}, otto)
        _ok(daemon, "audit_export", {"directory": str(exports / "audit"), "openlineage": True}, otto)
        _ok(daemon, "report", {"name": "delay", "out": str(exports / "r.html")}, otto)
        scored = _ok(daemon, "score", {"name": "delay", "input": str(flights_small),
                                       "output": str(exports / "s.parquet")}, otto)
        assert pl.read_parquet(exports / "s.parquet").height == scored["scored"] > 0
        _ok(daemon, "backup", {"directory": str(exports / "backup")}, admin_token)
    finally:
        daemon.stop()
    written = [exports / "delay-v1.vb", shared / "a" / "delay-v1.vb", exports / "audit" / "audit_log.parquet",
               exports / "audit" / "openlineage" / "events.ndjson", exports / "r.html", exports / "s.parquet",
               exports / "backup" / "backup.json"]
    assert {p: _mode(p) for p in written} == {p: 0o600 for p in written}
    assert not any(name.startswith("exports/") for name in json.loads((exports / "backup" / "backup.json")
                                                                      .read_text())["files"])


def test_an_existing_file_is_never_replaced(fresh_home: Path, tmp_path: Path, flights_small: Path,
                                            vigil: Callable[..., Any]) -> None:
    otto = _users(fresh_home, vigil)
    config = fresh_home / "vigil.toml"
    config_before = config.read_bytes()
    local = vigil("bundle", "export", "delay", "1", config, "--home", fresh_home)  # no daemon: as the OS user
    assert local.code == 2 and local.err == (f"vigil: error: {config} already exists; Vigil never replaces an "
                                             "existing file: remove it or choose a new name\n")
    assert config.read_bytes() == config_before
    fresh_home.chmod(0o755)  # an existing home, readable by every account: made private when the daemon starts
    config.chmod(0o644)
    (fresh_home / "vigil.duckdb").chmod(0o644)
    exports = fresh_home / "exports"
    exports.mkdir(exist_ok=True)
    mine = {name: exports / name for name in ("mine.vb", "mine.html", "mine.parquet", "mine.rejects.parquet")}
    for path in mine.values():
        path.write_text(f"not Vigil's: {path.name}")
    (exports / "audit").mkdir()
    (exports / "audit" / "audit_log.parquet").write_text("not Vigil's")
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert _shared_bits(fresh_home) == []
        _refused(daemon, "bundle_export", {"name": "delay", "version": 1, "file": str(mine["mine.vb"])}, otto,
                 "already exists")
        _refused(daemon, "report", {"name": "delay", "out": str(mine["mine.html"])}, otto, "already exists")
        _refused(daemon, "score", {"name": "delay", "input": str(flights_small), "output": str(mine["mine.parquet"])},
                 otto, "mine.parquet already exists")
        _refused(daemon, "score", {"name": "delay", "input": str(flights_small), "output": str(exports / "new.parquet"),
                                   "rejects": str(mine["mine.rejects.parquet"])}, otto, "mine.rejects.parquet")
        _refused(daemon, "audit_export", {"directory": str(exports / "audit")}, otto, "audit_log.parquet")
        assert _batches(daemon) == 0 and not (exports / "new.parquet").exists()
        _ok(daemon, "report", {"name": "delay", "out": str(exports / "week.html")}, otto)
        _refused(daemon, "report", {"name": "delay", "out": str(exports / "week.html")}, otto, "already exists")
    finally:
        daemon.stop()
    assert {p.name: p.read_text() for p in mine.values()} == {n: f"not Vigil's: {n}" for n in mine}
    assert (exports / "audit" / "audit_log.parquet").read_text() == "not Vigil's"
    assert sorted(p.name for p in exports.iterdir()) == ["audit", *sorted(mine), "week.html"]  # no scratch left
    assert config.read_bytes() == config_before
