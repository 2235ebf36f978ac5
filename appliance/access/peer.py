"""The OS account at the other end of a TCP connection to this box, from the kernel's socket tables.

When a process on the same machine connects to the daemon, the kernel keeps both ends in
`/proc/net/tcp` (and `tcp6`): the daemon's socket (local = daemon address, remote = client
address) and the client's (local = client address, remote = daemon address), each with the uid
that owns it. The client's row tells who is calling, whatever the request says about itself.

A row only counts while its socket still belongs to an open file (inode not 0): a socket whose
owner closed it (FIN-WAIT, TIME-WAIT) is shown with uid 0 and must never pass for root. When no
such row is found (another machine, another network namespace, a closed client, no /proc), the
owner is unknown: None.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

Address = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


@dataclass(frozen=True, slots=True)
class Peer:
    """One connection as the server sees it: the client's address and port, and the server's port."""

    client_host: str
    client_port: int
    server_port: int


@dataclass(frozen=True, slots=True)
class SocketRow:
    """One socket of the kernel's TCP table."""

    local: Address
    remote: Address
    uid: int
    inode: int


def from_environ(environ: Mapping[str, Any]) -> Peer | None:
    """The connection a WSGI request came on (REMOTE_ADDR, REMOTE_PORT, SERVER_PORT), if complete."""
    try:
        return Peer(str(environ["REMOTE_ADDR"]), int(environ["REMOTE_PORT"]), int(environ["SERVER_PORT"]))
    except (KeyError, TypeError, ValueError):
        return None


def owner_uid(peer: Peer, rows: Iterable[SocketRow] | None = None) -> int | None:
    """The uid owning the client's end of `peer`, or None when the kernel's tables do not show it."""
    table = list(socket_rows() if rows is None else rows)
    try:
        client: Address = (_plain(ipaddress.ip_address(peer.client_host)), peer.client_port)
    except ValueError:
        return None
    # the server's end of this connection tells which of the server's addresses the client dialled
    server_ends = {row.local for row in table if row.remote == client and row.local[1] == peer.server_port}
    owners = {row.uid for row in table if row.local == client and row.remote in server_ends and row.inode != 0}
    return owners.pop() if len(owners) == 1 else None


def socket_rows(tables: Iterable[Path] = TABLES) -> list[SocketRow]:
    """Every TCP socket of this network namespace (IPv4 and IPv6); unreadable tables are skipped."""
    found: list[SocketRow] = []
    for table in tables:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        found.extend(row for row in map(parse_row, lines) if row is not None)
    return found


def parse_row(line: str) -> SocketRow | None:
    """One line of /proc/net/tcp or tcp6: `sl local remote st queues timer retrnsmt uid timeout inode`."""
    fields = line.split()
    try:
        return SocketRow(_address(fields[1]), _address(fields[2]), int(fields[7]), int(fields[9]))
    except (IndexError, ValueError):
        return None


def _address(text: str) -> Address:
    """`0100007F:1F90` → (127.0.0.1, 8080): the address is printed as 32-bit words in host byte order."""
    host, port = text.split(":")
    if len(host) not in (8, 32):
        raise ValueError(f"not an address: {text}")
    packed = b"".join(int(host[i:i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(host), 8))
    return _plain(ipaddress.ip_address(packed)), int(port, 16)


def _plain(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4-mapped IPv6 address (a dual-stack socket) as the IPv4 address it stands for."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
