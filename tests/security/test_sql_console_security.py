"""The SQL console through the daemon and without it: a viewer reads the store and nothing else, never
writes, and one query can neither run forever, return everything, outlive its client nor spoil a
shutdown."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from appliance.core.identity import current_account
from daemon_support import Daemon, start_daemon, wait_until, token_of
from support import query

# A cross join the guard allows (range is a table function of the database) that runs for minutes.
ENDLESS = "SELECT count(*) FROM range(200000000) a, range(1000) b WHERE a.range + b.range = -1"



@pytest.fixture
def viewer(fresh_home: Path, vigil: Callable[..., Any]) -> str:
    """A viewer's token, with the OS account as admin (so the viewer is not the bootstrap admin)."""
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", fresh_home).code == 0
    return token_of(vigil("users", "add", "vera", "--role", "viewer", "--home", fresh_home).out)


@pytest.fixture
def console_daemon(fresh_home: Path, tmp_path: Path, viewer: str) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(**env: str) -> Daemon:
        started.append(start_daemon(fresh_home, tmp_path / "daemon.log", env=env))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.stop()


def _sql(daemon: Daemon, token: str, sql: str, timeout: float = 60) -> tuple[int, Any]:
    return daemon.post("/admin/v1/ops/sql", {"query": sql}, headers={"Authorization": f"Bearer {token}"},
                       timeout=timeout)


def _running(daemon: Daemon) -> int:
    """Console queries the daemon is running (its status, behind the admin token)."""
    token = (daemon.home / "admin.token").read_text().strip()
    status, _, body = daemon.request("GET", "/admin/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    return int(json.loads(body)["sql_queries_running"])


def test_a_viewer_reads_no_file_through_the_daemon(console_daemon: Callable[..., Daemon], viewer: str,
                                                   fresh_home: Path) -> None:
    daemon = console_daemon()
    admin_token = (fresh_home / "admin.token").read_text().strip()
    for sql in (f"SELECT content FROM read_text('{fresh_home / 'admin.token'}')",
                "SELECT * FROM read_csv('/etc/passwd')",
                "SELECT * FROM glob('/**')",
                f"SELECT * FROM '{fresh_home / 'admin.token'}'",
                f"DESCRIBE SELECT * FROM read_csv('{fresh_home / 'admin.token'}')",
                "SELECT (SELECT content FROM read_text('/etc/passwd')) AS leak"):
        status, body = _sql(daemon, viewer, sql)
        assert status == 400, (sql, body)
        assert body["error"]["type"] == "QueryError" and "no files" in body["error"]["message"]
        assert admin_token not in json.dumps(body) and "root:" not in json.dumps(body)
    status, body = _sql(daemon, viewer, "SELECT count(*) AS n FROM models")  # the store itself stays readable
    assert status == 200 and body["result"]["rows"] == [[1]] and body["result"]["truncated"] is False


def test_a_write_inside_a_cte_is_refused_before_it_runs(console_daemon: Callable[..., Daemon], viewer: str,
                                                        fresh_home: Path) -> None:
    daemon = console_daemon()
    status, body = _sql(daemon, viewer, "WITH gone AS (DELETE FROM audit_log RETURNING *) SELECT count(*) FROM gone")
    assert status == 400 and body["error"]["type"] == "ReadOnlyViolation"
    assert "DELETE" in body["error"]["message"]
    status, body = _sql(daemon, viewer, "WITH x AS (INSERT INTO holds VALUES (1) RETURNING *) SELECT * FROM x")
    assert status == 400 and body["error"]["type"] == "ReadOnlyViolation"
    status, body = _sql(daemon, viewer, "SELECT count(*) FROM audit_log")
    assert status == 200 and body["result"]["rows"][0][0] > 0


def test_a_long_query_stops_at_the_timeout_and_scoring_goes_on(console_daemon: Callable[..., Daemon], viewer: str,
                                                                sample_records: list[dict[str, Any]]) -> None:
    daemon = console_daemon(VIGIL_SQL_TIMEOUT="1.5")
    started = time.monotonic()
    status, body = _sql(daemon, viewer, ENDLESS)
    took = time.monotonic() - started
    assert status == 400 and body["error"]["type"] == "QueryStopped"
    assert "sql.timeout (1.5 s)" in body["error"]["message"]
    assert 1.4 < took < 10
    assert _running(daemon) == 0  # the query is gone, not running on in the background
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:3]})[0] == 200


def test_a_big_select_is_capped_and_says_so(console_daemon: Callable[..., Daemon], viewer: str,
                                            fresh_home: Path, vigil: Callable[..., Any]) -> None:
    daemon = console_daemon()
    status, body = _sql(daemon, viewer, "SELECT range AS n FROM range(5000000)")
    assert status == 200
    result = body["result"]
    assert len(result["rows"]) == 10_000 and result["truncated"] is True and result["max_rows"] == 10_000
    assert result["rows"][-1] == [9_999]
    cli = vigil("sql", "SELECT range AS n FROM range(20000)", "--format", "csv", "--home", fresh_home,
                env={"VIGIL_TOKEN": viewer})
    assert cli.code == 0 and len(cli.out.splitlines()) == 10_001  # header + 10,000 rows
    assert "truncated" in cli.err and "sql.max_rows" in cli.err


def test_a_query_whose_client_went_away_is_stopped(console_daemon: Callable[..., Daemon], viewer: str) -> None:
    daemon = console_daemon(VIGIL_SQL_TIMEOUT="120")
    host, port = daemon.url.removeprefix("http://").split(":")
    body = json.dumps({"query": ENDLESS}).encode()
    client = socket.create_connection((host, int(port)))
    client.sendall(b"POST /admin/v1/ops/sql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   + f"Authorization: Bearer {viewer}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    wait_until(lambda: _running(daemon) == 1, timeout=30)
    client.close()
    wait_until(lambda: _running(daemon) == 0, timeout=10)  # stopped long before its 120 s timeout
    started = time.monotonic()
    status, body = _sql(daemon, viewer, "SELECT 42 AS answer")  # the console's one slot is free again
    assert status == 200 and body["result"]["rows"] == [[42]]
    assert time.monotonic() - started < 5


def test_sigterm_during_a_long_query_stops_cleanly(console_daemon: Callable[..., Daemon], viewer: str) -> None:
    daemon = console_daemon(VIGIL_SQL_TIMEOUT="300")
    answers: list[tuple[int, Any]] = []
    client = threading.Thread(target=lambda: answers.append(_sql(daemon, viewer, ENDLESS, timeout=120)))
    client.start()
    wait_until(lambda: _running(daemon) == 1, timeout=30)
    started = time.monotonic()
    assert daemon.stop(signal.SIGTERM, timeout=60) == 0
    assert time.monotonic() - started < 20
    client.join(30)
    assert answers and answers[0][0] == 503 and "shutting down" in answers[0][1]["error"]["message"]
    assert "stopped cleanly" in daemon.output


def test_the_cli_without_a_daemon_has_the_same_protections(fresh_home: Path, viewer: str,
                                                           vigil: Callable[..., Any]) -> None:
    as_vera = {"VIGIL_TOKEN": viewer}
    config = fresh_home / "vigil.toml"
    for sql in (f"SELECT content FROM read_text('{config}')", "SELECT * FROM read_csv('/etc/passwd')",
                "SELECT * FROM glob('/**')", f"SELECT * FROM '{config}'"):
        result = vigil("sql", sql, "--home", fresh_home, env=as_vera)
        assert result.code == 2 and result.err.count("\n") == 1 and "no files" in result.err, sql
        assert "Traceback" not in result.err
    before = query(fresh_home, "SELECT count(*) FROM audit_log")
    cte = vigil("sql", "WITH gone AS (DELETE FROM audit_log RETURNING *) SELECT count(*) FROM gone",
                "--home", fresh_home, env=as_vera)
    assert cte.code == 2 and "read-only" in cte.err
    assert query(fresh_home, "SELECT count(*) FROM audit_log") == before
    slow = vigil("sql", ENDLESS, "--home", fresh_home, env={**as_vera, "VIGIL_SQL_TIMEOUT": "1"})
    assert slow.code == 2 and "sql.timeout (1 s)" in slow.err and slow.err.count("\n") == 1
    big = vigil("sql", "SELECT range FROM range(100000)", "--format", "json", "--home", fresh_home,
                env={**as_vera, "VIGIL_SQL_MAX_ROWS": "50"})
    assert big.code == 0 and len(json.loads(big.out)) == 50 and "truncated" in big.err
