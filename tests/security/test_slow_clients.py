"""One client holding 1,000 connections that trickle a byte at a time cannot stop the daemon serving others.

The attacker's connections come from 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux), the
other clients from 127.0.0.1, as two machines would. With the default configuration the daemon
accepts the attacker's first `max_connections_per_client` (256), answers the rest 429 and closes
them, and closes the accepted ones `read_timeout_s` (10 s) after their request began, however
steadily they trickle.
"""

from __future__ import annotations

import json
import resource
import select
import socket
import time
from urllib.parse import urlsplit

import pytest

from daemon_support import Daemon

ATTACKER = "127.0.0.2"
CONNECTIONS = 1000


@pytest.fixture
def enough_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTIONS + 512
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _open(port: int) -> list[socket.socket]:
    sockets = []
    for _ in range(CONNECTIONS):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0))
        connection.sendall(b"POST /v1/models/delay/predict HTTP/1.1\r\nHost: vigil\r\n")
        connection.setblocking(False)
        sockets.append(connection)
    return sockets


def _trickle(sockets: list[socket.socket], open_ones: set[socket.socket], answers: dict[socket.socket, bytes]) -> None:
    """One more header byte on each connection still open; note those the daemon closed (and what it said)."""
    for connection in _readable(open_ones):
        try:
            data = connection.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if data:
            answers[connection] = answers.get(connection, b"") + data
            continue
        open_ones.discard(connection)
    for connection in list(open_ones):
        try:
            connection.send(b"X")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            open_ones.discard(connection)


def _readable(sockets: set[socket.socket]) -> list[socket.socket]:
    poller = select.poll()
    by_fd = {s.fileno(): s for s in sockets}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return [by_fd[fd] for fd, _ in poller.poll(0)]


def _timed(daemon: Daemon, method: str, path: str, body: object = None) -> tuple[int, float]:
    started = time.monotonic()
    status, _, _ = daemon.request(method, path, body, timeout=10)
    return status, time.monotonic() - started


def test_trickling_connections_do_not_stop_other_clients(daemon: Daemon, sample_records, enough_descriptors) -> None:
    port = urlsplit(daemon.url).port
    assert port is not None
    sockets = _open(port)
    open_ones = set(sockets)
    answers: dict[socket.socket, bytes] = {}
    try:
        time.sleep(0.5)  # let the daemon accept (and refuse) the whole burst
        _trickle(sockets, open_ones, answers)
        for _ in range(3):
            status, took = _timed(daemon, "GET", "/healthz")
            assert status == 200 and took < 3, f"/healthz took {took:.1f} s"
            status, took = _timed(daemon, "POST", "/v1/models/delay/predict", {"records": sample_records[:1]})
            assert status == 200 and took < 3, f"predict took {took:.1f} s"
            time.sleep(1)
            _trickle(sockets, open_ones, answers)
        refused = [data for data in answers.values() if data.startswith(b"HTTP/1.1 429")]
        assert len(refused) >= CONNECTIONS - 256, f"{len(refused)} refused"
        assert json.loads(refused[0].split(b"\r\n\r\n", 1)[1])["error"]["type"] == "TooManyConnections"
        deadline = time.monotonic() + 25  # read_timeout_s (10 s) after each request began, plus slack
        while open_ones and time.monotonic() < deadline:
            time.sleep(1)
            _trickle(sockets, open_ones, answers)
        assert not open_ones, f"{len(open_ones)} trickling connection(s) still open"
        status, took = _timed(daemon, "GET", "/healthz")
        assert status == 200 and took < 3
    finally:
        for connection in sockets:
            connection.close()
