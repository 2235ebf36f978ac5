"""waitress, guarded against slow and greedy clients: a read deadline per request and a per-client cap.

waitress closes a connection only when it has been *idle* for `channel_timeout`, so a client that
sends one byte every few seconds keeps it forever, and 1,000 such connections (waitress's limit)
stop it accepting anyone else — `/healthz` included. Two guards close that:

- a request's headers and body must arrive within `read_timeout_s` of its first byte, else the
  connection is closed (progress a byte at a time does not extend the deadline);
- one client address may hold `max_connections_per_client` connections; a connection over that is
  answered 429 and closed when it is accepted, so it never takes a place among the 1,000.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

CONNECTION_LIMIT = 1000


class GuardedChannel(HTTPChannel):
    """An HTTP connection that remembers when the request it is receiving began."""

    receiving_since: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and data and self.receiving_since is None:
            self.receiving_since = time.monotonic()
        result = super().received(data)
        if self.request is None:  # nothing half-received: the deadline stops
            self.receiving_since = None
        return bool(result)


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with the read deadline and the per-client cap."""

    channel_class = GuardedChannel

    def __init__(self, *args: Any, read_timeout_s: float, max_per_client: int, **kw: Any) -> None:
        self.read_timeout_s = read_timeout_s
        self.max_per_client = max_per_client
        super().__init__(*args, **kw)

    def maintenance(self, now: float) -> None:
        """waitress's idle check, then close connections whose request has not arrived within the deadline."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.read_timeout_s
        for channel in list(self._map.values()):
            since = getattr(channel, "receiving_since", None)
            if since is not None and since < cutoff and not channel.requests:
                channel.will_close = True

    def accept(self) -> tuple[Any, Any] | None:
        """The next connection, or None when its client already holds its share (answered 429, closed)."""
        accepted = super().accept()
        if accepted is None:
            return None
        connection, address = accepted
        if _client_counts(self._map)[_host(address)] >= self.max_per_client:
            _refuse(connection, self.max_per_client)
            return None
        return accepted


def create_server(app: Any, *, read_timeout_s: float, max_per_client: int, **adjustments: Any) -> Any:
    """Like `waitress.create_server` for TCP, with GuardedServer; maintenance runs often enough for the deadline."""
    adjustments.setdefault("connection_limit", CONNECTION_LIMIT)
    adjustments.setdefault("cleanup_interval", max(0.5, min(30.0, read_timeout_s / 4)))
    adj = Adjustments(**adjustments)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [GuardedServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info,
                             read_timeout_s=read_timeout_s, max_per_client=max_per_client) for info in adj.listen]
    if len(servers) == 1:
        return servers[0]
    return MultiSocketServer(socket_map, adj, [(s.effective_host, s.effective_port) for s in servers], dispatcher)


def _client_counts(socket_map: dict[int, Any]) -> Counter[str]:
    return Counter(_host(channel.addr) for channel in socket_map.values() if isinstance(channel, HTTPChannel))


def _host(address: Any) -> str:
    return str(address[0]) if isinstance(address, tuple) and address else str(address)


def _refuse(connection: Any, limit: int) -> None:
    """A short 429 if the socket takes it at once, then close; never blocks the accepting loop."""
    body = json.dumps({"error": {"type": "TooManyConnections", "message": f"this client already holds {limit} "
                                 "connections; reuse them or close some"}}).encode()
    head = (f"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Retry-After: 1\r\nConnection: close\r\n\r\n").encode()
    try:
        connection.setblocking(False)
        connection.send(head + body)
    except OSError:
        pass
    finally:
        connection.close()
