"""Identity is a user's token or the OS account of the caller's uid: never `$USER`, `$LOGNAME` or a
request header; a revoked name can be issued again, its old token staying dead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

from appliance.core.identity import current_account
from daemon_support import Daemon, start_daemon, token_of
from tests.support import VIGIL, query



def _admin_post(daemon: Daemon, name: str, body: dict[str, Any], bearer: str,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                        headers={"Authorization": f"Bearer {bearer}", **(headers or {})})
    return status, json.loads(payload)


def _as_carol_by_environment(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`vigil ARGS` with no token anywhere, and an environment that claims to be carol."""
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_TOKEN"}
    config = tmp_path / "no-token-config"
    config.mkdir(exist_ok=True)
    env.update(USER="carol", LOGNAME="carol", LNAME="carol", USERNAME="carol", XDG_CONFIG_HOME=str(config))
    return subprocess.run([str(VIGIL), *args], capture_output=True, text=True, env=env, timeout=300)


def _pending_request(home: Path, vigil: Callable[..., Any]) -> tuple[int, str]:
    """Users: this OS account (admin), carol (approver), dana (operator); dana asks for v2 as champion."""
    me = current_account()
    assert vigil("users", "add", me, "--role", "admin", "--home", home).code == 0
    assert vigil("users", "add", "carol", "--role", "approver", "--home", home).code == 0
    dana = token_of(vigil("users", "add", "dana", "--role", "operator", "--home", home).out)
    asked = vigil("promote", "delay", "2", "--to", "champion", "--reason", "v2", "--home", home,
                  env={"VIGIL_TOKEN": dana})
    assert asked.code == 0 and "waits for an approver" in asked.out, asked.err
    request_id = int(asked.out.split("request ")[1].split(":")[0])
    return request_id, me


def _approval_actors(home: Path, after_audit_id: int) -> list[str]:
    return [actor for (actor,) in query(home, "SELECT actor FROM audit_log WHERE id > ? ORDER BY id", [after_audit_id])]


def _last_audit_id(home: Path) -> int:
    return int(query(home, "SELECT coalesce(max(id), 0) FROM audit_log")[0][0])


def test_user_environment_variables_do_not_choose_who_approves_without_a_daemon(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    request_id, me = _pending_request(fresh_home, vigil)
    before = _last_audit_id(fresh_home)
    done = _as_carol_by_environment(tmp_path, "approve", str(request_id), "--home", str(fresh_home))
    assert done.returncode == 0, done.stderr
    actors = _approval_actors(fresh_home, before)
    assert actors and set(actors) == {me}  # the uid's account, not carol
    assert query(fresh_home, "SELECT alias, version FROM aliases WHERE model_name = 'delay' "
                             "AND alias = 'champion'") == [("champion", 2)]


def test_user_environment_variables_do_not_choose_who_approves_through_the_daemon(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    request_id, me = _pending_request(fresh_home, vigil)
    before = _last_audit_id(fresh_home)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        whoami = _as_carol_by_environment(tmp_path, "whoami", "--home", str(fresh_home))
        assert whoami.returncode == 0 and whoami.stdout.startswith(f"{me} (admin") and "carol" not in whoami.stdout
        done = _as_carol_by_environment(tmp_path, "approve", str(request_id), "--home", str(fresh_home))
        assert done.returncode == 0, done.stderr
    finally:
        daemon.stop()
    actors = _approval_actors(fresh_home, before)
    assert actors and set(actors) == {me}


def test_a_header_naming_another_user_is_ignored_with_the_admintoken_of(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    """carol is an admin; this OS account is no user (a viewer). The admin token plus
    `X-Vigil-User: carol` still acts as this OS account, so it cannot add an admin."""
    me = current_account()
    assert vigil("users", "add", "carol", "--role", "admin", "--home", fresh_home).code == 0
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        admin_token = (fresh_home / "admin.token").read_text().strip()
        claim = {"X-Vigil-User": "carol"}
        status, body = _admin_post(daemon, "whoami", {"actor": "carol"}, admin_token, claim)
        assert status == 200 and body["result"] == {"name": me, "role": "viewer", "identity": "os-user"}
        status, body = _admin_post(daemon, "user_add", {"name": "mallory", "role": "admin", "actor": "carol"},
                                   admin_token, claim)
        assert status == 403 and body["error"]["type"] == "Forbidden" and f"{me} (viewer)" in body["error"]["message"]
    finally:
        daemon.stop()
    assert query(fresh_home, "SELECT count(*) FROM users WHERE name = 'mallory'") == [(0,)]
    assert query(fresh_home, "SELECT actor, details->>'operation' FROM audit_log WHERE action = 'access.denied'") == [
        (me, "user_add")]


def test_a_revoked_name_is_issued_again_with_a_newtoken_of(fresh_home: Path, tmp_path: Path,
                                                         vigil: Callable[..., Any]) -> None:
    me = current_account()
    assert vigil("users", "add", me, "--role", "admin", "--home", fresh_home).code == 0
    first = token_of(vigil("users", "add", "carol", "--role", "viewer", "--home", fresh_home).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert vigil("users", "revoke", "carol", "--home", fresh_home).code == 0
        again = vigil("users", "add", "carol", "--role", "operator", "--home", fresh_home)
        assert again.code == 0, again.err
        second = token_of(again.out)
        assert second != first
        assert _admin_post(daemon, "whoami", {}, first)[0] == 401  # the old token stays dead
        status, body = _admin_post(daemon, "whoami", {}, second)
        assert status == 200 and body["result"] == {"name": "carol", "role": "operator", "identity": "token"}
        twice = vigil("users", "add", "carol", "--role", "viewer", "--home", fresh_home)
        assert twice.code == 2 and "exists; revoke it first" in twice.err and "Traceback" not in twice.err
        listed = vigil("users", "list", "--home", fresh_home).out
        assert listed.count("carol") == 2  # the revoked row stays, for the audit trail
    finally:
        daemon.stop()
    rows = query(fresh_home, "SELECT role, revoked_at IS NOT NULL FROM users WHERE name = 'carol' ORDER BY created_at")
    assert rows == [("viewer", True), ("operator", False)]
    audit = query(fresh_home, "SELECT action, actor, details->>'role' FROM audit_log WHERE subject = 'user:carol' "
                              "ORDER BY id")
    assert audit == [("user.add", me, "viewer"), ("user.revoke", me, "viewer"), ("user.add", me, "operator")]


def test_the_users_migration_keeps_every_issuedtoken_of(tmp_path: Path) -> None:
    from appliance.store import migrations
    from appliance.store.connection import Store

    shipped = migrations.discover()
    reissue = next(m for m in shipped if m.name.endswith("_reissued_users"))
    older = tmp_path / "migrations"
    older.mkdir()
    for migration in shipped[:reissue.number - 1]:
        shutil.copy(migration.path, older)
    with Store.open(tmp_path / "vigil.duckdb") as store:
        migrations.apply(store, older)
        store.execute("INSERT INTO users VALUES ('carol', 'viewer', 'aa', 'root', TIMESTAMP '2024-01-01', "
                      "TIMESTAMP '2024-02-01')")
        store.execute("INSERT INTO users VALUES ('dana', 'admin', 'bb', 'root', TIMESTAMP '2024-01-01', NULL)")
        shutil.copy(reissue.path, older)
        assert migrations.apply(store, older) == [reissue.name]
        assert store.execute("SELECT name, role, token_sha256, revoked_at IS NULL FROM users ORDER BY name") == [
            ("carol", "viewer", "aa", False), ("dana", "admin", "bb", True)]
