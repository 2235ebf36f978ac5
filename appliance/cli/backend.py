"""Run an operation: through the daemon's admin API when it runs, else in this process."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from appliance import errors
from appliance.home import Home, resolve_home


def call(home_arg: str | None, name: str, args: dict[str, Any], *, token: str | None = None) -> Any:
    """Run an operation as the user of `token` (default: VIGIL_TOKEN, the token file, else the OS
    account of this process's uid)."""
    home = resolve_home(home_arg)
    from appliance.daemon.discovery import reach

    daemon = reach(home)
    if daemon is not None:
        return remote(daemon.url, daemon.token, name, args, token=token)
    return _local(home, name, args, token)


def call_object(home_arg: str | None, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """`call` for an operation whose result is a JSON object."""
    result = call(home_arg, name, args)
    assert isinstance(result, dict)
    return result


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


def _local(home: Home, name: str, args: dict[str, Any], token: str | None = None) -> Any:
    from appliance import operations
    from appliance.context import open_context
    from appliance.registry.lineage import creator

    spec = operations.find(name)
    with open_context(home, read_only=not spec.writes) as ctx:
        return operations.run_as(ctx, name, args, token or user_token(), creator())


def remote(url: str, admin_token: str, name: str, args: dict[str, Any], timeout: float = 3600,
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
    try:
        body = json.loads(response.read())["error"]
        kind, message = body.get("type", ""), body.get("message", "")
    except (ValueError, KeyError, TypeError):
        return errors.DaemonError(f"the daemon answered HTTP {response.code}")
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, errors.VigilError) and cls.__init__ is errors.VigilError.__init__:
        return cls(message)
    return errors.DaemonError(message or f"the daemon answered HTTP {response.code}")
