"""How the console reaches Vigil: the daemon's admin API, or — when no daemon runs and no process
holds the store — a read-only view straight from the store file.

Every call says which way it went (`Connection.state`), so the header can tell the on-call engineer
plainly whether they are looking at the live daemon, a read-only store, or nothing at all. The
daemon is looked for again on every call (by the shared admin client, appliance/admin_client.py), so
the console reconnects by itself once it is back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.admin_client import AdminClient
from appliance.errors import DaemonError, StoreInUse, VigilError
from appliance.home import Home

if TYPE_CHECKING:
    from appliance.daemon.discovery import DaemonAddress

CALL_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class State:
    mode: str      # 'daemon', 'read-only' or 'down'
    detail: str    # where, or what is wrong and what to do

    @property
    def writable(self) -> bool:
        return self.mode == "daemon"


class ReadOnlyView(VigilError):
    """A change was asked for while the console reads the store file (no daemon)."""


class Connection(AdminClient):
    """The console's admin client: local calls read the store read-only, and each call records which
    way it went in `state`."""

    def __init__(self, home: Home, timeout_s: float = CALL_TIMEOUT_S) -> None:
        super().__init__(home, timeout_s=timeout_s, local_read_only=True)
        self._lock = threading.Lock()
        self.state = State("down", "not connected yet")

    def through_daemon(self, daemon: "DaemonAddress", name: str, args: dict[str, Any], timeout_s: float) -> Any:
        try:
            result = super().through_daemon(daemon, name, args, timeout_s)
        except DaemonError as e:
            if "did not answer" in str(e):
                self._set(State("down", f"daemon pid {daemon.pid} does not answer; retrying"))
            raise
        self._set(State("daemon", daemon.url.removeprefix("http://")))
        return result

    def in_process(self, name: str, args: dict[str, Any]) -> Any:
        from appliance import operations

        spec = operations.find(name)
        if spec.writes and not spec.read_only_ok:
            raise ReadOnlyView(f"'{name}' changes the store and the daemon is not running; start it with `vigil up`")
        try:
            result = super().in_process(name, args)
        except StoreInUse as e:
            self._set(State("down", f"no daemon, and the store is in use ({e}); retrying"))
            raise
        self._set(State("read-only", "daemon down; `vigil up` starts it"))
        return result

    def _set(self, state: State) -> None:
        with self._lock:
            self.state = state
