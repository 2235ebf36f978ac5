"""appliance/access/peer.py against real sockets: who owns the client's end of a connection."""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Iterator

import pytest

from appliance.access.peer import Peer, from_environ, owner_uid, parse_row

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux's /proc/net/tcp")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET)
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def _accept(server: socket.socket) -> tuple[socket.socket, Peer]:
    accepted, (host, port, *_) = server.accept()
    return accepted, Peer(host, port, server.getsockname()[1])


def test_the_owner_of_a_loopback_client_is_this_process_uid(listener: socket.socket) -> None:
    with socket.create_connection(listener.getsockname()):
        accepted, peer = _accept(listener)
        with accepted:
            assert owner_uid(peer) == os.getuid()
            assert owner_uid(Peer(peer.client_host, peer.client_port + 1, peer.server_port)) is None  # no such client
            assert owner_uid(Peer(peer.client_host, peer.client_port, peer.server_port + 1)) is None  # nor server


def test_ipv6_loopback_is_found_too() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server, socket.create_connection(server.getsockname()[:2]):
        accepted, peer = _accept(server)
        with accepted:
            assert peer.client_host == "::1" and owner_uid(peer) == os.getuid()


@pytest.mark.skipif(os.getuid() != 0, reason="connecting as another account needs root")
def test_a_client_running_as_another_account_is_that_account(listener: socket.socket) -> None:
    connected_r, connected_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:  # the client: becomes `nobody` (65534), while its environment still says root
        try:
            os.environ.update(USER="root", LOGNAME="root")
            os.setgid(65534)
            os.setuid(65534)
            client = socket.create_connection(listener.getsockname())
            os.write(connected_w, b"1")
            os.read(done_r, 1)
            client.close()
        finally:
            os._exit(0)
    try:
        assert os.read(connected_r, 1) == b"1"
        accepted, peer = _accept(listener)
        with accepted:
            assert owner_uid(peer) == 65534  # the kernel's word, not the client's environment
    finally:
        os.write(done_w, b"1")
        os.waitpid(child, 0)
        for fd in (connected_r, connected_w, done_r, done_w):
            os.close(fd)


def test_a_client_that_closed_its_socket_is_unknown_never_root(listener: socket.socket) -> None:
    client = socket.create_connection(listener.getsockname())
    accepted, peer = _accept(listener)
    with accepted:
        client.close()  # its end lingers (FIN-WAIT) without an owner: the kernel shows uid 0
        time.sleep(0.05)
        assert owner_uid(peer) is None


def test_rows_and_environ_parse() -> None:
    loopback = int.from_bytes(bytes([127, 0, 0, 1]), sys.byteorder)
    row = parse_row(f"   3: {loopback:08X}:1F90 {loopback:08X}:D431 01 00000000:00000000 00:00000000 00000000  "
                    "1000        0 4242 1 0000000000000000 20 4 30 10 -1")
    assert row is not None and (str(row.local[0]), row.local[1], row.remote[1], row.uid, row.inode) == (
        "127.0.0.1", 8080, 54321, 1000, 4242)
    assert parse_row("  sl  local_address rem_address   st tx_queue") is None
    assert from_environ({"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5", "SERVER_PORT": "80"}) == Peer(
        "127.0.0.1", 5, 80)
    assert from_environ({"REMOTE_ADDR": "127.0.0.1", "SERVER_PORT": "80"}) is None
