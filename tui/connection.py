"""How the console reaches Vigil: the daemon's admin API, or — when no daemon runs and no process
holds the store — a read-only view straight from the store file.

Every call says which way it went (`Connection.state`), so the header can tell the on-call engineer
plainly whether they are looking at the live daemon, a read-only store, or nothing at all. The
daemon is looked for again on every call, so the console reconnects by itself once it is back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from appliance.errors import DaemonError, StoreInUse, VigilError
from appliance.home import Home

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


class Connection:
    def __init__(self, home: Home, timeout_s: float = CALL_TIMEOUT_S) -> None:
        self.home = home
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self.state = State("down", "not connected yet")

    def call(self, name: str, args: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """Run an operation; through the daemon, wait at most `timeout_s` (default: the connection's)."""
        from appliance import operations
        from appliance.cli.backend import remote
        from appliance.daemon.discovery import reach

        args = args or {}
        daemon = reach(self.home)
        if daemon is not None:
            try:
                result = remote(daemon.url, daemon.token, name, args, timeout=timeout_s or self.timeout_s)
            except DaemonError as e:
                if "did not answer" in str(e):
                    self._set(State("down", f"daemon pid {daemon.pid} does not answer; retrying"))
                raise
            self._set(State("daemon", daemon.url.removeprefix("http://")))
            return result
        spec = operations.find(name)
        if spec.writes and not spec.read_only_ok:
            raise ReadOnlyView(f"'{name}' changes the store and the daemon is not running; start it with `vigil up`")
        return self._local(name, args)

    def _local(self, name: str, args: dict[str, Any]) -> Any:
        from appliance import operations
        from appliance.cli.backend import user_token
        from appliance.context import open_context
        from appliance.registry.lineage import creator

        try:
            with open_context(self.home, read_only=True) as ctx:
                result = operations.run_as(ctx, name, args, user_token(), creator())
        except StoreInUse as e:
            self._set(State("down", f"no daemon, and the store is in use ({e}); retrying"))
            raise
        self._set(State("read-only", "daemon down; `vigil up` starts it"))
        return result

    def _set(self, state: State) -> None:
        with self._lock:
            self.state = state
