"""Attacks on the release door: one person trying to release a version alone, climb a role, or act
under another name. Each test makes the attack for real against a running daemon (real users and
tokens, real HTTP, the installed `vigil` CLI) and asserts that it fails and leaves nothing moved.

The cast: ada (admin), otto (operator), alice and bob (approvers). The OS account running the tests
has no user row, so once users exist it is a viewer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, add_people, start_daemon, op
from tests.support import SPEC, VIGIL, query

ALL_CHAMPION = {("champion", 1)}



@pytest.fixture
def people(fresh_home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    return add_people(fresh_home, vigil)


@pytest.fixture
def door(fresh_home: Path, people: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """Start the daemon on the home with users (optionally with a whole `vigil.toml`)."""
    started: list[Daemon] = []

    def start(config: str | None = None) -> Daemon:
        if config is not None:
            (fresh_home / "vigil.toml").write_text(config)
        started.append(start_daemon(fresh_home, tmp_path / f"daemon{len(started)}.log"))
        started[-1].reader = people["ada"]  # type: ignore[attr-defined]
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.stop()



def read(daemon: Daemon, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a read-only query through the running daemon's SQL console (as ada); the store
    itself is the daemon's while it runs."""
    status, found = op(daemon, daemon.reader, "sql", {"query": sql})  # type: ignore[attr-defined]
    assert status == 200, found
    return [tuple(r) for r in found["rows"]]


def aliases(daemon: Daemon) -> dict[str, int]:
    return dict(read(daemon, "SELECT alias, version FROM aliases WHERE model_name = 'delay'"))


def answered(daemon: Daemon, records: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """(route, version) of every answer to one request per record."""
    seen = set()
    for record in records:
        status, body = daemon.post("/v1/models/delay/predict", {"records": [record]},
                                   headers={"X-Request-Id": uuid.uuid4().hex})
        assert status == 200, body
        seen.add((body["route"], body["version"]))
    return seen


def make_v2_champion(daemon: Daemon, people: dict[str, str]) -> None:
    """otto asks, bob approves: the honest way."""
    status, request = op(daemon, people["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "v2 is better"})
    assert status == 200 and request["status"] == "pending", request
    assert op(daemon, people["bob"], "approve", {"id": request["request_id"]})[0] == 200
    assert aliases(daemon)["champion"] == 2


# 1. Approving one's own request under another route ------------------------------------------------

def test_a_requester_cannot_approve_their_own_request_by_any_route(
        door: Callable[..., Daemon], people: dict[str, str], vigil: Callable[..., Any],
        sample_records: list[dict[str, Any]]) -> None:
    daemon = door()
    home = daemon.home
    status, request = op(daemon, people["alice"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "mine"})
    assert status == 200 and request["status"] == "pending", request
    rid = str(request["request_id"])

    # the admin API with her token, claiming to be bob in a header and in the arguments
    status, refused = op(daemon, people["alice"], "approve", {"id": int(rid), "actor": "bob"},
                         headers={"X-Vigil-User": "bob"})
    assert status == 403 and "cannot approve" in refused["message"], refused
    # the CLI through the daemon with her token, $USER and $LOGNAME saying bob
    cli = vigil("approve", rid, "--home", home, env={"VIGIL_TOKEN": people["alice"], "USER": "bob", "LOGNAME": "bob"})
    assert cli.code == 2 and len(cli.err.strip().splitlines()) == 1, cli
    # the CLI with no token (the daemon's admin token, as this OS account: a viewer), $USER saying bob
    bare = vigil("approve", rid, "--home", home, env={"VIGIL_TOKEN": "", "USER": "bob", "LOGNAME": "bob",
                                                     "XDG_CONFIG_HOME": str(home / "no-such-config")})
    assert bare.code == 2 and "approver" in bare.err, bare
    # the admin token straight over HTTP, naming bob in a header
    admin_token = (home / "admin.token").read_text().strip()
    status, refused = op(daemon, admin_token, "approve", {"id": int(rid), "actor": "bob"},
                         headers={"X-Vigil-User": "bob"})
    assert status == 403, refused
    assert answered(daemon, sample_records[:20]) == ALL_CHAMPION

    daemon.stop()  # without the daemon: the CLI opens the store itself
    local = vigil("approve", rid, "--home", home, env={"VIGIL_TOKEN": people["alice"], "USER": "bob"})
    assert local.code == 2 and "cannot approve" in local.err, local
    bare_local = vigil("approve", rid, "--home", home, env={"VIGIL_TOKEN": "", "USER": "bob", "LOGNAME": "bob",
                                                           "XDG_CONFIG_HOME": str(home / "no-such-config")})
    assert bare_local.code == 2, bare_local

    assert dict(query(home, "SELECT alias, version FROM aliases")) == {"champion": 1}
    assert query(home, "SELECT status, decided_by FROM promotion_requests WHERE request_id = ?", [int(rid)]) == [
        ("pending", None)]
    refusals = query(home, "SELECT DISTINCT actor FROM audit_log WHERE action = 'promotion.self_approval_refused'")
    assert refusals == [("alice",)]
    assert query(home, "SELECT count(*) FROM audit_log WHERE actor = 'bob'") == [(0,)]


# 2. A canary share at the edges of the limit ----------------------------------------------------------

@pytest.mark.parametrize("body", [
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": 25.0001}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": "30"}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": NaN}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": Infinity}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": 1e309}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": -5}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": 0}',
    b'{"name": "delay", "version": 2, "alias": "canary", "reason": "x", "percent": 100.0000001}',
    b'{"name": "delay", "version": 2, "alias": "champion", "reason": "x", "percent": 100}',
    b'{"name": "delay", "version": 2, "alias": "Champion", "reason": "x"}',
], ids=["25.0001", "string-30", "NaN", "Infinity", "1e309", "negative", "zero", "above-100", "champion-percent",
        "alias-case"])
def test_an_operator_alone_gets_no_large_canary_at_the_edges(
        door: Callable[..., Daemon], people: dict[str, str], sample_records: list[dict[str, Any]],
        body: bytes) -> None:
    daemon = door()
    status, found = op(daemon, people["otto"], "promote", None, raw=body)
    assert status < 500, found
    if status == 200:
        assert found["status"] == "pending" and found["approval_because"], found
    else:
        assert status == 400, found
    assert aliases(daemon) == {"champion": 1}
    assert answered(daemon, sample_records[:40]) == ALL_CHAMPION
    assert read(daemon, "SELECT count(*) FROM audit_log WHERE action = 'alias.move' AND actor = 'otto'") == [(0,)]


# 3. An older version back under a new number --------------------------------------------------------

def test_an_old_version_reimported_under_a_new_number_still_needs_approval(
        door: Callable[..., Daemon], people: dict[str, str], flights_small: Path, tmp_path: Path,
        sample_records: list[dict[str, Any]]) -> None:
    daemon = door()
    make_v2_champion(daemon, people)
    # the honest ways back are guarded: v1 is older than champion v2
    for alias in ("canary", "shadow"):
        status, found = op(daemon, people["otto"], "promote",
                           {"name": "delay", "version": 1, "alias": alias, "percent": 10 if alias == "canary" else None,
                            "reason": "old one"})
        assert status == 200 and found["status"] == "pending", found
        assert any("older than champion" in why for why in found["approval_because"]), found
    # the attack: import v1's own artifact again, as a "new" v3, then canary it
    (path,), = read(daemon, "SELECT a.path FROM model_versions v JOIN artifacts a "
                                "ON a.sha256 = v.artifact_sha256 WHERE v.model_name = 'delay' AND v.version = 1")
    spec = tmp_path / "spec7.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
    status, imported = op(daemon, people["otto"], "import", {"name": "delay", "file": str(daemon.home / str(path)),
                                                             "spec": str(spec), "reason": "fresh model, honest"})
    if status != 200:  # refused outright: the attack fails here
        assert status in (400, 403), imported
        assert aliases(daemon) == {"champion": 2}
        return
    clone = int(imported["version"])
    status, found = op(daemon, people["otto"], "promote",
                       {"name": "delay", "version": clone, "alias": "canary", "percent": 10, "reason": "new import"})
    assert status in (200, 400), found
    assert status == 400 or found["status"] != "applied", (
        f"v{clone} is v1's artifact (older than champion v2) yet answers as canary with no approver: {found}")
    assert "canary" not in aliases(daemon)
    assert ("canary", clone) not in answered(daemon, sample_records[:60])


# 4. A request past its expiry ------------------------------------------------------------------------

def test_an_expired_request_cannot_be_approved(door: Callable[..., Daemon], people: dict[str, str]) -> None:
    daemon = door("[promotion]\nexpiry_hours = 0.0005\n")  # 1.8 s
    status, request = op(daemon, people["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "quick"})
    assert status == 200 and request["status"] == "pending", request
    time.sleep(2.5)
    status, refused = op(daemon, people["bob"], "approve", {"id": request["request_id"]})
    assert status == 400 and "expired" in refused["message"], refused
    assert aliases(daemon) == {"champion": 1}
    assert read(daemon, "SELECT status, decided_by FROM promotion_requests "
                        f"WHERE request_id = {int(request['request_id'])}") == [("expired", "vigil")]


# 5. Two decisions at once ------------------------------------------------------------------------------

def test_concurrent_approve_and_reject_decide_once(door: Callable[..., Daemon], people: dict[str, str]) -> None:
    daemon = door()
    for round_ in range(3):
        status, request = op(daemon, people["otto"], "promote",
                             {"name": "delay", "version": 2, "alias": "canary", "percent": 40 + round_,
                              "reason": f"race {round_}"})
        assert status == 200 and request["status"] == "pending", request
        rid = request["request_id"]
        results: dict[str, tuple[int, Any]] = {}
        calls = {"bob-approve": (people["bob"], "approve", {"id": rid}),
                 "alice-approve": (people["alice"], "approve", {"id": rid}),
                 "alice-reject": (people["alice"], "reject", {"id": rid, "reason": "no"})}
        barrier = threading.Barrier(len(calls))

        def go(key: str, token: str, name: str, args: dict[str, Any]) -> None:
            barrier.wait()
            results[key] = op(daemon, token, name, args)

        threads = [threading.Thread(target=go, args=(k, *v)) for k, v in calls.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(s < 500 for s, _ in results.values()), results
        assert sum(s == 200 for s, _ in results.values()) == 1, results
        (status_,), = read(daemon, f"SELECT status FROM promotion_requests WHERE request_id = {int(rid)}")
        moves = read(daemon, "SELECT count(*) FROM audit_log WHERE action = 'alias.move' "
                             f"AND details->>'reason' LIKE 'race {round_}%'")
        assert moves == [(1 if status_ == "approved" else 0,)], (status_, results)
        if status_ == "approved":
            assert read(daemon, "SELECT version, traffic_percent FROM aliases WHERE alias = 'canary'") == [
                (2, 40 + round_)]


# 6. Writing release state through the SQL console --------------------------------------------------

@pytest.mark.parametrize("sql", [
    "UPDATE aliases SET version = 2 WHERE alias = 'champion'",
    "INSERT INTO aliases VALUES ('delay', 'canary', 2, 'otto', now(), 100)",
    "WITH x AS (UPDATE users SET role = 'admin' WHERE name = 'otto' RETURNING *) SELECT * FROM x",
    "UPDATE promotion_requests SET status = 'approved'",
    "DELETE FROM users",
    "SELECT * FROM query('UPDATE users SET role = ''admin''')",
    "ATTACH 'vigil.duckdb' AS again",
    "CALL pragma_version(); UPDATE users SET revoked_at = now()",
    "EXPLAIN ANALYZE UPDATE users SET revoked_at = now()",
    "SET enable_external_access = true",
])
def test_the_sql_console_writes_no_release_state(door: Callable[..., Daemon], people: dict[str, str],
                                                 sql: str) -> None:
    daemon = door()
    before = read(daemon, "SELECT name, role, revoked_at FROM users ORDER BY name")
    for who in ("otto", "alice", "ada"):
        status, found = op(daemon, people[who], "sql", {"query": sql})
        assert status in (400, 403), (who, found)
    assert aliases(daemon) == {"champion": 1}
    assert read(daemon, "SELECT name, role, revoked_at FROM users ORDER BY name") == before
    assert read(daemon, "SELECT count(*) FROM promotion_requests WHERE status = 'approved'") == [(0,)]


# 7. Climbing a role, or bringing back the no-users waiver ---------------------------------------------

def test_operators_and_approvers_cannot_climb_or_bring_back_the_waiver(
        door: Callable[..., Daemon], people: dict[str, str], vigil: Callable[..., Any]) -> None:
    daemon = door()
    attempts = [("user_add", {"name": "otto2", "role": "admin"}), ("user_revoke", {"name": "ada"}),
                ("user_revoke", {"name": "bob"}), ("retention_run", {}),
                ("contract_apply", {"name": "delay", "version": 2, "toml": "", "reason": "x"}),
                ("keys_trust", {"name": "mine", "public_key": "AAAA"}), ("backup", {"directory": "b"})]
    for who in ("otto", "alice"):
        for name, args in attempts:
            status, found = op(daemon, people[who], name, args)
            assert status == 403, (who, name, found)
    added = vigil("users", "add", "eve", "--role", "admin", "--home", daemon.home, env={"VIGIL_TOKEN": people["otto"]})
    assert added.code == 2, added
    assert read(daemon, "SELECT count(*) FROM users WHERE revoked_at IS NULL") == [(4,)]
    # still users, so a promotion by otto waits for an approver: the waiver is not back
    status, request = op(daemon, people["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "alone"})
    assert status == 200 and request["status"] == "pending", request
    assert aliases(daemon) == {"champion": 1}
    denied = read(daemon, "SELECT count(*) FROM audit_log WHERE action = 'access.denied' "
                                "AND actor IN ('otto', 'alice')")
    assert denied[0][0] >= 2 * len(attempts)


# 8. Rollback to a version that never was champion -------------------------------------------------

def test_rollback_cannot_reach_a_version_that_was_only_canary_or_challenger(
        door: Callable[..., Daemon], people: dict[str, str], sample_records: list[dict[str, Any]]) -> None:
    daemon = door()
    for alias, extra in (("canary", {"percent": 10}), ("challenger", {})):
        status, found = op(daemon, people["alice"], "promote",
                           {"name": "delay", "version": 2, "alias": alias, "reason": f"v2 as {alias}", **extra})
        assert status == 200 and found["status"] == "applied", found
    for to in (2, "2", None):
        args = {"name": "delay", "reason": "back", **({} if to is None else {"to": to})}
        status, refused = op(daemon, people["otto"], "rollback", args)
        assert status == 400, (to, refused)
    assert aliases(daemon)["champion"] == 1
    assert ("champion", 2) not in answered(daemon, sample_records[:40])
    assert read(daemon, "SELECT count(*) FROM deployments WHERE alias = 'champion' AND to_version = 2") == [(0,)]


# 9. A job's or the system's name taken by a person --------------------------------------------------

@pytest.mark.parametrize("name", ["vigil", "vigil-canary", "admin-token"])
def test_no_user_may_be_issued_a_name_the_system_acts_under(door: Callable[..., Daemon], people: dict[str, str],
                                                             name: str) -> None:
    """The audit log names the system (`vigil`: expiries, gate rejections), the canary job
    (`vigil-canary`) and an unknown admin-token caller (`admin-token`); a person holding one of these
    names acts in the log as the machine."""
    daemon = door()
    status, found = op(daemon, people["ada"], "user_add", {"name": name, "role": "approver"})
    assert status == 400, found
    assert read(daemon, f"SELECT count(*) FROM users WHERE name = '{name}'") == [(0,)]


# 10. Other local accounts -------------------------------------------------------------------------------

NOBODY = 65534
PROBE = """
import json, sys, urllib.request, urllib.error
out = {}
for path in sys.argv[2:]:
    try:
        open(path, "rb").read(1); out[path] = "read"
    except OSError as e:
        out[path] = type(e).__name__
url, token = sys.argv[1].split(" ")
req = urllib.request.Request(url + "/admin/v1/ops/promote", method="POST",
    data=json.dumps({"name": "delay", "version": 2, "alias": "canary", "percent": 10, "reason": "from nobody"}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    out["http"] = urllib.request.urlopen(req, timeout=30).status
except urllib.error.HTTPError as e:
    out["http"] = e.code
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a probe as another account")
def test_another_local_account_reads_nothing_and_a_leaked_admin_token_makes_it_no_admin(
        served_home: Path, vigil: Callable[..., Any]) -> None:
    outer = Path(tempfile.mkdtemp(prefix="vigil-attack-", dir="/tmp"))
    try:
        outer.chmod(0o755)  # others may reach the home: only its own modes keep them out
        home = outer / "home"
        shutil.copytree(served_home, home)
        people = add_people(home, vigil)
        daemon = start_daemon(home, outer / "daemon.log")
        daemon.reader = people["ada"]  # type: ignore[attr-defined]
        try:
            admin_token = (home / "admin.token").read_text().strip()
            secrets = [home / "vigil.duckdb", home / "vigil.duckdb.wal", home / "admin.token", home / "vigil.toml"]
            probe = subprocess.run(["python3", "-c", PROBE, f"{daemon.url} {admin_token}", *map(str, secrets)],
                                   user=NOBODY, group=NOBODY, capture_output=True, text=True, timeout=60, cwd="/")
            assert probe.returncode == 0, probe.stderr
            seen = json.loads(probe.stdout)
            assert all(seen[str(p)] != "read" for p in secrets), seen
            # with the admin token leaked to it, the account is still itself (no user row: a viewer)
            assert seen["http"] == 403, seen
            assert aliases(daemon) == {"champion": 1}
            assert read(daemon, "SELECT actor FROM audit_log WHERE action = 'access.denied' "
                                "ORDER BY id DESC LIMIT 1") == [("nobody",)]
            assert people["ada"]
        finally:
            daemon.stop()
    finally:
        shutil.rmtree(outer, ignore_errors=True)


# 11. A backup from before the first user, restored to bring back the waiver ------------------------------

def test_restoring_a_backup_from_before_any_user_needs_an_admin(
        fresh_home: Path, vigil: Callable[..., Any], tmp_path: Path) -> None:
    """While no users exist everyone is admin and approval is waived; a backup made then, restored
    by a non-admin once users exist, would bring both back. The home's OS account can of course
    write the files directly; the check here is that Vigil's own command asks for the admin role,
    as `vigil backup` does."""
    before_users = tmp_path / "before-users"
    assert vigil("backup", before_users, "--home", fresh_home).code == 0  # bootstrap: everyone is admin
    people = add_people(fresh_home, vigil)
    restored = vigil("restore", before_users, "--replace", "--home", fresh_home, env={"VIGIL_TOKEN": people["otto"]})
    assert restored.code == 2 and "may not run 'restore'; it needs the admin role" in restored.err, restored
    as_admin = vigil("restore", before_users, "--replace", "--home", fresh_home, env={"VIGIL_TOKEN": people["ada"]})
    assert as_admin.code == 2 and "would drop every user and waive every approval" in as_admin.err, as_admin
    assert query(fresh_home, "SELECT count(*) FROM users WHERE revoked_at IS NULL") == [(4,)]
    assert query(fresh_home, "SELECT actor FROM audit_log WHERE action = 'access.denied' "
                             "AND details->>'operation' = 'restore'") == [("otto",)]
    alone = vigil("promote", "delay", "2", "--to", "champion", "--reason", "alone", "--home", fresh_home,
                  env={"VIGIL_TOKEN": people["otto"]})
    assert "waits for an approver" in alone.out, alone
    assert dict(query(fresh_home, "SELECT alias, version FROM aliases")) == {"champion": 1}
