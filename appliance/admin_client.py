"""The admin client: how the CLI, the console and the demo run an operation.

One rule, written here once: a call goes through the daemon's admin API when a daemon runs (the one
`VIGIL_URL` names, else the home's own, found by `daemon/discovery.py`), else it runs in this process
on the home's store. The caller is the user of their token (`VIGIL_TOKEN`, else their token file);
without one, the daemon sees the OS account owning the connection and a local call runs as this
process's account.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance import errors
from appliance.home import Home, resolve_home

if TYPE_CHECKING:
    from appliance.daemon.discovery import DaemonAddress

CALL_TIMEOUT_S = 3600.0  # a command may train or back up for a long time; the console asks for less


class AdminClient:
    """Runs operations on one home, through its daemon when one runs, else in this process.

    `local_read_only` opens the store read-only for every local call (the console, which may run
    beside another process reading the store); otherwise a local call opens it for writing only when
    the operation writes. A local call opens the store, runs and closes it, so nothing holds the
    store between calls; while another process holds it for a moment, it waits up to
    `lock_wait_s` (None: the store's default; the console passes 0 and tries again on its next
    refresh). Subclasses may wrap `through_daemon` and `in_process` to see which way a call went (the
    console's header does).
    """

    def __init__(self, home: Home, *, token: str | None = None, timeout_s: float = CALL_TIMEOUT_S,
                 local_read_only: bool = False, lock_wait_s: float | None = None) -> None:
        self.home = home
        self.token = token
        self.timeout_s = timeout_s
        self.local_read_only = local_read_only
        self.lock_wait_s = lock_wait_s

    def call(self, name: str, args: dict[str, Any] | None = None, timeout_s: float | None = None) -> Any:
        """Run an operation; through the daemon, wait at most `timeout_s` (default: the client's)."""
        daemon = self.daemon()
        if daemon is not None:
            return self.through_daemon(daemon, name, args or {}, timeout_s or self.timeout_s)
        return self.in_process(name, args or {})

    def daemon(self) -> "DaemonAddress | None":
        """The daemon a call goes through now: the one VIGIL_URL names, else the home's running one, else None."""
        from appliance.daemon.discovery import reach

        return reach(self.home)

    def through_daemon(self, daemon: "DaemonAddress", name: str, args: dict[str, Any], timeout_s: float) -> Any:
        return remote(daemon.url, daemon.token, name, args, timeout=timeout_s, token=self.token)

    def in_process(self, name: str, args: dict[str, Any]) -> Any:
        return run_local(self.home, name, args, self.token, read_only=self.local_read_only,
                         lock_wait_s=self.lock_wait_s)


def call(home_arg: str | None, name: str, args: dict[str, Any], *, token: str | None = None) -> Any:
    """Run an operation on the home `--home` names (else `$VIGIL_HOME`, else ./vigil-home) as the user
    of `token` (default: VIGIL_TOKEN, the token file, else the OS account of this process's uid)."""
    return AdminClient(resolve_home(home_arg), token=token).call(name, args)


def token_file() -> Path:
    """The user's config file for their token: $XDG_CONFIG_HOME/vigil/token (~/.config/vigil/token)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vigil" / "token"


def user_token() -> str | None:
    """A user's token from VIGIL_TOKEN, else from their token file; without one the caller is the OS account."""
    found = os.environ.get("VIGIL_TOKEN")
    if found:
        return found.strip()
    try:
        return token_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def run_local(home: Home, name: str, args: dict[str, Any], token: str | None = None, *,
              read_only: bool = False, lock_wait_s: float | None = None) -> Any:
    """Run an operation in this process on the home's store, opened for writing only when the
    operation writes, or needs more than the viewer role (so a refusal is audited as through the
    daemon), and `read_only` is not asked for. The store is closed again when the operation returns;
    while another process holds it for a moment (a read-only console's refresh), the open is tried
    again for up to `lock_wait_s` seconds (default: the store's LOCK_WAIT_S)."""
    from appliance import operations
    from appliance.home.context import open_context
    from appliance.core.identity import current_account
    from appliance.store.connection import LOCK_WAIT_S

    spec = operations.find(name)
    reads_only = not spec.writes and operations.required_role(name) == "viewer"
    wait_s = LOCK_WAIT_S if lock_wait_s is None else lock_wait_s
    with open_context(home, read_only=read_only or reads_only, wait_s=wait_s) as ctx:
        return operations.run_as(ctx, name, args, token or user_token(), current_account())


def remote(url: str, admin_token: str, name: str, args: dict[str, Any], timeout: float = CALL_TIMEOUT_S,
           token: str | None = None) -> Any:
    """Run an operation through the daemon's admin API as the user of their token; without one, with
    the admin token, as the OS account the daemon sees owning this connection (never one it claims)."""
    token = token or user_token()
    if not (token or admin_token):
        raise errors.Unauthorized(f"the daemon at {url} needs your user token: set VIGIL_TOKEN or write it to "
                                  f"{token_file()} (an admin issues one: vigil users add NAME --role ROLE)")
    headers = {"Authorization": f"Bearer {token or admin_token}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}/admin/v1/ops/{name}", data=json.dumps(args).encode(), method="POST",
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["result"]
    except urllib.error.HTTPError as e:
        raise _error_from(e) from None
    except (urllib.error.URLError, OSError) as e:
        raise errors.DaemonError(f"the daemon at {url} did not answer ({e}); check `vigil up`'s output") from e


def _error_from(response: urllib.error.HTTPError) -> errors.VigilError:
    """The daemon's JSON error as the typed error it names (a DaemonError when it names none)."""
    try:
        body = json.loads(response.read())["error"]
        kind, message = body.get("type", ""), body.get("message", "")
    except (ValueError, KeyError, TypeError):
        return errors.DaemonError(f"the daemon answered HTTP {response.code}")
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.VigilError) and cls.__init__ is errors.VigilError.__init__:
        return cls(message)
    return errors.DaemonError(message or f"the daemon answered HTTP {response.code}")
