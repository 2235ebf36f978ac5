"""A hostile user's second tries at the trust boundary, against a real daemon: a lower role aiming at an
admin operation under another name or through a job path, bad bodies on admin operations, a kill -9
right after an approval answered, the SQL console asked for settings and paths, and a revoked token
used by address. Each test passes when the attack fails and nothing moved.

The cast: ada (admin), otto (operator), alice and bob (approvers), vera (viewer).
"""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, op, start_daemon, token_of
from support import query

CAST = (("otto", "operator"), ("alice", "approver"), ("bob", "approver"), ("vera", "viewer"))


@pytest.fixture
def cast(fresh_home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    """Tokens by name: ada is added while no user exists (bootstrap), then adds the rest."""
    tokens = {"ada": token_of(vigil("users", "add", "ada", "--role", "admin", "--home", fresh_home).out)}
    for name, role in CAST:
        added = vigil("users", "add", name, "--role", role, "--home", fresh_home, env={"VIGIL_TOKEN": tokens["ada"]})
        tokens[name] = token_of(added.out)
    return tokens


@pytest.fixture
def daemon(fresh_home: Path, cast: dict[str, str], tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(fresh_home, tmp_path / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


def read(daemon: Daemon, token: str, sql: str) -> list[tuple[Any, ...]]:
    status, found = op(daemon, token, "sql", {"query": sql})
    assert status == 200, found
    return [tuple(r) for r in found["rows"]]


def state(daemon: Daemon, ada: str) -> dict[str, Any]:
    """What an attack must not change: aliases, users, holds, contracts, requests, and the audit rows
    other than refusals (a refused attempt is itself audited)."""
    return {
        "aliases": read(daemon, ada, "SELECT model_name, alias, version FROM aliases ORDER BY ALL"),
        "users": read(daemon, ada, "SELECT * FROM users ORDER BY ALL"),
        "holds": read(daemon, ada, "SELECT count(*) FROM audit_holds"),
        "deployments": read(daemon, ada, "SELECT count(*) FROM deployments"),
        "requests": read(daemon, ada, "SELECT request_id, status FROM promotion_requests ORDER BY ALL"),
        "audit": read(daemon, ada, "SELECT count(*) FROM audit_log WHERE action NOT LIKE '%refused%' "
                                   "AND action NOT LIKE '%denied%'"),
    }


# 1. A second door to the same state --------------------------------------------------------------

ABOVE_THEIR_ROLE = [
    ("vera", "monitor_run", {"name": "delay"}),
    ("vera", "retrain", {"name": "delay", "reason": "queued by a viewer"}),
    ("vera", "report", {"name": "delay", "output": "r.html"}),
    ("vera", "hold_add", {"model": "delay", "reason": "x"}),
    ("otto", "contract_apply", {"name": "delay", "contract": "c.toml"}),
    ("otto", "retention_run", {}),
    ("otto", "approve", {"id": 1}),
    ("alice", "contract_apply", {"name": "delay", "contract": "c.toml"}),
    ("alice", "hold_release", {"id": 1}),
    ("alice", "import_trusted", {"name": "delay", "path": "/tmp/model.pkl", "reason": "x"}),
    ("alice", "user_add", {"name": "mallory", "role": "admin"}),
    ("alice", "keys_trust", {"path": "/tmp/key.pub"}),
    ("alice", "backup", {"output": "b.tar"}),
    ("bob", "api_key_add", {"name": "mine"}),
]


def test_no_lower_role_reaches_an_operation_above_it_by_any_name_or_job_path(
        daemon: Daemon, cast: dict[str, str]) -> None:
    before = state(daemon, cast["ada"])
    jobs_before = read(daemon, cast["ada"], "SELECT count(*) FROM job_runs")
    for who, name, args in ABOVE_THEIR_ROLE:
        status, refused = op(daemon, cast[who], name, args)
        assert status == 403, (who, name, refused)
    # spellings of an admin operation: none is a different, open door
    for spelling in ("USER_ADD", "user_add%20", "user-add", "user_add/", "%75ser_add", "user_add%00"):
        status, _, body = daemon.request("POST", f"/admin/v1/ops/{spelling}", {"name": "mallory", "role": "admin"},
                                         headers={"Authorization": f"Bearer {cast['vera']}"})
        assert status in (400, 403, 404), (spelling, status, body)
    # a viewer's job_schedule is a read: it answers and queues nothing
    status, schedule = op(daemon, cast["vera"], "job_schedule", {})
    assert status == 200 and schedule["running"] is True, schedule
    assert state(daemon, cast["ada"]) == before
    assert read(daemon, cast["ada"], "SELECT count(*) FROM job_runs") == jobs_before
    assert read(daemon, cast["ada"], "SELECT count(*) FROM users WHERE name = 'mallory'") == [(0,)]


# 2. Bad bodies on admin operations; huge and NUL reasons --------------------------------------------

BAD_BODIES = [
    ("ada", "import_trusted", b'{"name": "delay", "file": ["/etc/passwd"], "spec": "/tmp/s.toml", "reason": "x"}'),
    ("ada", "import_trusted", b'{"name": "../../delay", "file": "/tmp/m.pkl", "spec": "/tmp/s.toml", "reason": "x"}'),
    ("ada", "import_trusted", b'{"name": "delay", "file": "/tmp/m.pkl\\u0000.txt", "spec": "/tmp/s.toml"}'),
    ("ada", "import_trusted", b'{"name": "delay", "file": "/nonexistent/m.pkl", "spec": "/nonexistent/s.toml"}'),
    ("ada", "import_trusted", b'{"name": "delay", "spec": "/tmp/s.toml", "reason": "x"}'),
    ("ada", "import_trusted", b'[1, 2, 3]'),
    ("ada", "import_trusted", b'{"name": "delay", "file": "/tmp/m.pkl", "spec": "/tmp/s.toml", "trust": true, '
                              b'"extra": {"deep": [1]}}'),
    ("ada", "restore", b'{"path": "/tmp/backup.tar"}'),
    ("otto", "promote", json.dumps({"name": "delay", "version": 2, "alias": "champion",
                                    "reason": "x" * 2_000_000}).encode()),
    ("otto", "promote", b'{"name": "delay", "version": 2, "alias": "champion", "reason": "ok\\u0000; DROP"}'),
    ("alice", "hold_add", b'{"model": "delay", "reason": "\\u0000"}'),
    ("ada", "user_add", b'{"name": "eve\\u0000admin", "role": "admin"}'),
]


def test_bad_bodies_and_reasons_on_admin_operations_are_4xx_and_change_nothing(
        daemon: Daemon, cast: dict[str, str]) -> None:
    before = state(daemon, cast["ada"])
    for who, name, raw in BAD_BODIES:
        status, found = op(daemon, cast[who], name, None, raw=raw)
        assert 400 <= status < 500, (name, raw[:80], status, found)
        assert "Traceback" not in json.dumps(found)
    assert state(daemon, cast["ada"]) == before
    assert read(daemon, cast["ada"], "SELECT count(*) FROM audit_log WHERE contains(coalesce(reason, ''), "
                                     "chr(0)) OR length(coalesce(reason, '')) > 100000") == [(0,)]
    assert daemon.get("/healthz")[0] == 200


# 3. kill -9 right after an approval answered ---------------------------------------------------------

def test_an_approval_that_answered_survives_kill_9_and_everything_agrees(
        daemon: Daemon, cast: dict[str, str], fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    status, request = op(daemon, cast["alice"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "v2 is better"})
    assert status == 200 and request["status"] == "pending", request
    status, approved = op(daemon, cast["bob"], "approve", {"id": request["request_id"]})
    assert status == 200, approved
    daemon.stop(signal.SIGKILL)

    assert dict(query(fresh_home, "SELECT alias, version FROM aliases WHERE model_name = 'delay'")) == {
        "champion": 2}
    assert query(fresh_home, "SELECT status, decided_by FROM promotion_requests WHERE request_id = ?",
                 [int(request["request_id"])]) == [("approved", "bob")]
    last = query(fresh_home, "SELECT alias, to_version FROM deployments WHERE model_name = 'delay' "
                             "ORDER BY id DESC LIMIT 1")
    assert last == [("champion", 2)], last
    moves = query(fresh_home, "SELECT count(*) FROM audit_log WHERE actor = 'bob' AND action LIKE '%approv%'")
    assert moves[0][0] >= 1, moves
    verified = vigil("audit", "verify", "--home", fresh_home, env={"VIGIL_TOKEN": cast["ada"]})
    assert verified.code == 0, verified

    again = start_daemon(fresh_home, tmp_path / "again.log")
    try:
        status, body = again.post("/v1/models/delay/predict", {"records": []})
        found = read(again, cast["ada"], "SELECT alias, version FROM aliases WHERE model_name = 'delay'")
        assert dict(found) == {"champion": 2}
        status, _, served = again.request("GET", "/v1/models/delay")
        if status == 200:
            assert json.loads(served).get("champion", {}).get("version", 2) == 2, served
    finally:
        again.stop()
    assert vigil("audit", "verify", "--home", fresh_home, env={"VIGIL_TOKEN": cast["ada"]}).code == 0


# 4. The SQL console asked for settings, paths and relative files ----------------------------------------

def test_a_viewer_learns_no_setting_path_or_file_through_the_console(
        daemon: Daemon, cast: dict[str, str], fresh_home: Path) -> None:
    secret = (fresh_home / "admin.token").read_text().strip()
    refused = [
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM pragma_database_list()",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM duckdb_extensions()",
        "SELECT * FROM pragma_show('admin.token')",
        "SUMMARIZE SELECT * FROM 'admin.token'",
        f"SUMMARIZE '{fresh_home / 'admin.token'}'",
        "FROM 'admin.token'",
        "FROM 'vigil.toml'",
        "FROM read_blob('admin.token')",
        "SELECT * FROM query_table('admin.token')",
        "SELECT * FROM query('SELECT * FROM read_text(''admin.token'')')",
        "DESCRIBE 'admin.token'",
        "SHOW 'admin.token'",
    ]
    for sql in refused:
        status, answer = op(daemon, cast["vera"], "sql", {"query": sql})
        assert status == 400, (sql, answer)
        assert secret not in json.dumps(answer), sql
    # the daemon's settings and paths are not told either (the home's path, the account's home directory)
    for sql in ("SELECT current_setting('secret_directory') AS v", "SELECT current_setting('temp_directory') AS v",
                "SELECT * FROM duckdb_databases()"):
        status, answer = op(daemon, cast["vera"], "sql", {"query": sql})
        assert status == 400 and str(fresh_home) not in json.dumps(answer), (sql, answer)
    status, answer = op(daemon, cast["vera"], "sql", {"query": "SELECT * FROM pragma_database_size()"})
    assert status == 200 and secret not in json.dumps(answer) and str(fresh_home) not in json.dumps(answer)
    status, answer = op(daemon, cast["vera"], "sql", {"query": "SELECT getenv('VIGIL_TOKEN')"})
    assert status == 400, answer


def test_a_viewer_changes_no_shared_export(daemon: Daemon, cast: dict[str, str], fresh_home: Path) -> None:
    """A lake export appends rows and moves a box's watermark: an operator's act, not a reader's."""
    for args in ({"directory": "lake", "full": True}, {"directory": "lake", "box": "otherbox"}):
        status, answer = op(daemon, cast["vera"], "export", args)
        assert status == 403 and "needs the operator role" in answer["message"], answer
    assert not (fresh_home / "exports" / "lake").exists()
    status, answer = op(daemon, cast["otto"], "export", {"directory": "lake"})
    assert status == 200, answer
    assert (fresh_home / "exports" / "lake").is_dir()


# 5. A revoked token by address ------------------------------------------------------------------------

def test_a_revoked_token_reaches_nothing_by_vigil_url(daemon: Daemon, cast: dict[str, str], fresh_home: Path,
                                                        tmp_path: Path, vigil: Callable[..., Any]) -> None:
    assert vigil("users", "revoke", "otto", "--home", fresh_home, env={"VIGIL_TOKEN": cast["ada"]}).code == 0
    before = state(daemon, cast["ada"])
    elsewhere = tmp_path / "elsewhere"  # no home here: only the address and the token
    elsewhere.mkdir()
    env = {"VIGIL_URL": daemon.url, "VIGIL_TOKEN": cast["otto"], "VIGIL_HOME": str(elsewhere / "none"),
           "XDG_CONFIG_HOME": str(elsewhere)}
    for args in (("promote", "delay", "2", "--to", "champion", "--reason", "revoked"),
                 ("rollback", "delay", "--reason", "revoked"), ("models",), ("sql", "SELECT 1")):
        done = vigil(*args, env=env)
        assert done.code == 2, (args, done)
        assert len(done.err.strip().splitlines()) == 1 and "Traceback" not in done.err, (args, done.err)
    status, refused = op(daemon, cast["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "canary", "percent": 5, "reason": "revoked"})
    assert status == 401 or status == 403, refused
    assert state(daemon, cast["ada"]) == before
    # the MLflow-style door takes no admin token in place of a model route, and moves nothing either
    for raw in (b'{"dataframe_records": "x"}', b'\x00' * 64, b'{"instances": [[1, 2]], "inputs": {"a": 1}}'):
        status, _, body = daemon.request("POST", "/invocations", raw=raw,
                                         headers={"Authorization": f"Bearer {cast['otto']}"})
        assert 400 <= status < 500, (raw[:20], status, body)
    assert state(daemon, cast["ada"]) == before
    with socket.create_connection(("127.0.0.1", int(daemon.url.rsplit(":", 1)[1])), timeout=10) as raw_socket:
        raw_socket.sendall(b"POST /admin/v1/ops/user_add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           + cast["otto"].encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 35\r\n"
                           b"Connection: close\r\n\r\n" + b'{"name": "otto2", "role": "admin"}'.ljust(35))
        reply = raw_socket.recv(4096).split(b"\r\n", 1)[0]
    assert reply.split()[1] in (b"401", b"403"), reply
    assert read(daemon, cast["ada"], "SELECT count(*) FROM users WHERE name = 'otto2'") == [(0,)]
