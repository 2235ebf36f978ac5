"""Users and roles: tokens shown once, each action needs its role, refusals are 403 / exit 2 and audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from appliance.core.identity import current_account
from daemon_support import Daemon, start_daemon
from tests.support import query


def _admin_post(daemon: Daemon, name: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                        headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(payload)


def _token(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("vgu_"))


def test_roles_without_a_daemon(fresh_home: Path, vigil: Callable[..., Any]) -> None:
    me = current_account()
    assert "(admin, identified by bootstrap)" in vigil("whoami", "--home", fresh_home).out  # no users yet
    assert vigil("promote", "delay", "2", "--to", "champion", "--reason", "v2", "--home", fresh_home).code == 0
    assert vigil("users", "add", me, "--role", "admin", "--home", fresh_home).code == 0
    viewer = _token(vigil("users", "add", "vera", "--role", "viewer", "--home", fresh_home).out)
    operator = _token(vigil("users", "add", "otto", "--role", "operator", "--home", fresh_home).out)
    as_vera = {"VIGIL_TOKEN": viewer}
    assert vigil("models", "--home", fresh_home, env=as_vera).code == 0  # viewers read
    denied = vigil("rollback", "delay", "--to", "1", "--reason", "x", "--home", fresh_home, env=as_vera)
    assert denied.code == 2 and "vera (viewer) may not run 'rollback'; it needs the operator role" in denied.err
    assert "Traceback" not in denied.err
    ok = vigil("rollback", "delay", "--to", "1", "--reason", "v2 is bad", "--home", fresh_home,
               env={"VIGIL_TOKEN": operator})
    assert ok.code == 0
    assert vigil("users", "add", "mallory", "--role", "admin", "--home", fresh_home,
                 env={"VIGIL_TOKEN": operator}).code == 2
    rows = query(fresh_home, "SELECT action, actor, details->>'operation' FROM audit_log "
                             "WHERE action IN ('access.denied', 'alias.rollback') ORDER BY id")
    assert rows == [("access.denied", "vera", "rollback"), ("alias.rollback", "otto", None),
                    ("access.denied", "otto", "user_add")]
    assert query(fresh_home, "SELECT count(*) FROM users WHERE token_sha256 LIKE 'vgu_%'") == [(0,)]  # hashes only
    assert vigil("users", "revoke", "vera", "--home", fresh_home).code == 0
    assert vigil("models", "--home", fresh_home, env=as_vera).code == 2  # a revoked token is refused


def test_roles_through_the_admin_api(fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    assert vigil("promote", "delay", "2", "--to", "champion", "--reason", "v2", "--home", fresh_home).code == 0
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", fresh_home).code == 0
    viewer = _token(vigil("users", "add", "vera", "--role", "viewer", "--home", fresh_home).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        post = lambda name, body, token: _admin_post(daemon, name, body, token)  # noqa: E731
        status, body = post("rollback", {"name": "delay", "to": 1, "reason": "x"}, viewer)
        assert status == 403 and body["error"]["type"] == "Forbidden" and "operator role" in body["error"]["message"]
        status, body = post("whoami", {"actor": "someone-else"}, viewer)
        assert status == 200 and body["result"] == {"name": "vera", "role": "viewer", "identity": "token"}
        assert post("models", {}, "vgu_not-a-token")[0] == 401
        cli = vigil("rollback", "delay", "--to", "1", "--reason", "x", "--home", fresh_home,
                    env={"VIGIL_TOKEN": viewer})
        assert cli.code == 2 and "may not run 'rollback'" in cli.err
        assert vigil("rollback", "delay", "--to", "1", "--reason", "ok", "--home", fresh_home).code == 0  # admin
        denied = vigil("sql", "SELECT count(*) FROM audit_log WHERE action = 'access.denied'", "--format", "csv",
                       "--home", fresh_home)
        assert denied.out.split()[-1] == "2"
    finally:
        daemon.stop()


def test_an_approval_through_the_admin_api_swaps_the_champion(fresh_home: Path, tmp_path: Path,
                                                               vigil: Callable[..., Any], sample_records) -> None:
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", fresh_home).code == 0
    ann = _token(vigil("users", "add", "ann", "--role", "approver", "--home", fresh_home).out)
    bob = _token(vigil("users", "add", "bob", "--role", "approver", "--home", fresh_home).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        post = lambda name, body, token: _admin_post(daemon, name, body, token)  # noqa: E731
        status, body = post("promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "v2"}, ann)
        assert status == 200 and body["result"]["status"] == "pending"
        request_id = body["result"]["request_id"]
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[1]["version"] == 1
        status, body = post("approve", {"id": request_id}, ann)
        assert status == 403 and "cannot approve it" in body["error"]["message"]
        status, body = post("approve", {"id": request_id}, bob)
        assert status == 200 and body["result"]["status"] == "approved"
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[1]["version"] == 2
    finally:
        daemon.stop()
