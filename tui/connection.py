"""How the console reaches Vigil: the daemon's admin API, or — when no daemon runs and no process
holds the store — a read-only view straight from the store file.

Every call says which way it went (`Connection.state`), so the header can tell the on-call engineer
plainly whether they are looking at the live daemon, a read-only store, or nothing at all. The
daemon is looked for again on every call (by the shared admin client, appliance/admin_client.py), so
the console reconnects by itself once it is back.

Two rules keep the console honest and out of the way:

- A hung daemon (its process alive, its port silent) is shown as such within three seconds: the app
  asks the daemon's health endpoint every second with a one-second timeout (`probe`), a daemon that
  did not answer is not called again until it answers its health check (a refresh fails at once
  instead of waiting the call timeout), and a "live" state whose last answer is older than
  `STALE_AFTER_S` reads as not connected. Actions keep the long call timeout.
- Read-only, each call opens the store, reads and closes it, one call at a time, and leaves the store
  free for at least `LOCAL_GAP_S` before its next call (so refreshes slower than their interval never
  hold it back to back); a store held by another process is not waited for (`lock_wait_s=0`): that
  refresh fails, says so, and the next one tries again. A CLI command beside the console, which
  waits for a lock held for a moment, finds the store free between the console's reads.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.admin_client import AdminClient
from appliance.errors import DaemonError, StoreInUse, VigilError
from appliance.home import Home

if TYPE_CHECKING:
    from appliance.daemon.discovery import DaemonAddress

CALL_TIMEOUT_S = 15.0   # an operation through the daemon (a drift check may take a while)
PROBE_EVERY_S = 1.0     # how often the app asks the daemon whether it is alive
PROBE_TIMEOUT_S = 1.0   # a daemon whose health check takes longer is not answering
STALE_AFTER_S = 3.0     # a live state with no answer for this long reads as not connected
LOCAL_GAP_S = 0.1       # the store is left free this long after each read-only call (CLI commands retry
                        # every 0.05 s while it is held)


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
    """The console's admin client: local calls read the store read-only (never waiting for its lock),
    each call records which way it went in `state`, and `probe` finds a hung daemon."""

    def __init__(self, home: Home, timeout_s: float = CALL_TIMEOUT_S) -> None:
        super().__init__(home, timeout_s=timeout_s, local_read_only=True, lock_wait_s=0.0)
        self._lock = threading.Lock()
        self._state = State("down", "not connected yet")
        self._answered_at = 0.0  # monotonic time of the daemon's last answer
        self._silent: tuple[str, int] | None = None  # (url, pid) of a daemon whose health check timed out
        self._local = threading.Lock()  # one read-only call at a time

    @property
    def state(self) -> State:
        """How the console reaches Vigil now; "live" turns to not connected once the daemon's last
        answer is older than STALE_AFTER_S."""
        with self._lock:
            state, answered_at = self._state, self._answered_at
        silent_for = time.monotonic() - answered_at
        if state.mode == "daemon" and silent_for > STALE_AFTER_S:
            return State("down", f"the daemon has not answered for {silent_for:.0f} s; retrying")
        return state

    def probe(self) -> None:
        """Ask the running daemon (if any) whether it is alive, waiting at most PROBE_TIMEOUT_S."""
        try:
            daemon = self.daemon()
        except VigilError:
            return  # a bad VIGIL_URL: the next call says what is wrong
        if daemon is None:
            with self._lock:
                self._silent = None
            return
        if _healthy(daemon.url, PROBE_TIMEOUT_S):
            self._answered(daemon)
        else:
            with self._lock:
                self._silent = (daemon.url, daemon.pid)
            self._set(State("down", _not_answering(daemon)))

    def through_daemon(self, daemon: "DaemonAddress", name: str, args: dict[str, Any], timeout_s: float) -> Any:
        with self._lock:
            silent = self._silent == (daemon.url, daemon.pid)
        if silent:
            raise DaemonError(_not_answering(daemon))
        try:
            result = super().through_daemon(daemon, name, args, timeout_s)
        except DaemonError as e:
            if "did not answer" in str(e):
                self._set(State("down", _not_answering(daemon)))
            raise
        self._answered(daemon)
        return result

    def in_process(self, name: str, args: dict[str, Any]) -> Any:
        from appliance import operations

        spec = operations.find(name)
        if spec.writes and not spec.read_only_ok:
            raise ReadOnlyView(f"'{name}' changes the store and the daemon is not running; start it with `vigil up`")
        try:
            with self._local:
                try:
                    result = super().in_process(name, args)
                finally:
                    time.sleep(LOCAL_GAP_S)  # the store stays free a moment before this console's next read
        except StoreInUse as e:
            self._set(State("down", f"no daemon, and the store is in use ({e}); retrying"))
            raise
        self._set(State("read-only", "daemon down; `vigil up` starts it"))
        return result

    def _answered(self, daemon: "DaemonAddress") -> None:
        with self._lock:
            self._silent = None
            self._answered_at = time.monotonic()
            self._state = State("daemon", daemon.url.removeprefix("http://"))

    def _set(self, state: State) -> None:
        with self._lock:
            self._state = state


def _healthy(url: str, timeout_s: float) -> bool:
    """Whether the daemon at `url` answers its health check within `timeout_s`."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _not_answering(daemon: "DaemonAddress") -> str:
    who = f"daemon pid {daemon.pid}" if daemon.pid else f"the daemon at {daemon.url}"
    return f"{who} does not answer; retrying"
