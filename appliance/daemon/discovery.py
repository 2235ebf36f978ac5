"""How the CLI finds a running daemon: `<home>/daemon.json` (pid, address) and `<home>/admin.token`.

The home is private to the daemon's account (0700). Another account on the box reaches the daemon
by its address instead: `VIGIL_URL=http://127.0.0.1:8700` with the user's own token (VIGIL_TOKEN or
the token file); it never needs the home.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from urllib.parse import urlsplit

from appliance.errors import ConfigError
from appliance.home import Home

STATE_FILE = "daemon.json"
TOKEN_FILE = "admin.token"
URL_VARIABLE = "VIGIL_URL"


@dataclass(frozen=True, slots=True)
class DaemonAddress:
    pid: int
    host: str
    port: int
    token: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def ensure_token(home: Home) -> str:
    """The admin token, created on first start (readable by the home's owner only)."""
    path = home.root / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def publish(home: Home, host: str, port: int) -> None:
    temporary = home.root / f".{STATE_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port}), encoding="utf-8")
    os.replace(temporary, home.root / STATE_FILE)


def withdraw(home: Home) -> None:
    path = home.root / STATE_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def find(home: Home) -> DaemonAddress | None:
    """The running daemon of this home, or None (a state file left by a dead process is ignored)."""
    try:
        state = json.loads((home.root / STATE_FILE).read_text(encoding="utf-8"))
        token = (home.root / TOKEN_FILE).read_text(encoding="utf-8").strip()
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return DaemonAddress(pid, str(state["host"]), int(state["port"]), token)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reach(home: Home) -> DaemonAddress | None:
    """The daemon a client should call: the one named by VIGIL_URL (reached with the user's own token;
    no admin token), else this home's running daemon, else None."""
    named = os.environ.get(URL_VARIABLE, "").strip()
    return from_url(named) if named else find(home)


def from_url(url: str) -> DaemonAddress:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"{URL_VARIABLE}={url!r} is not a daemon address; use http://HOST:PORT, e.g. "
                          "http://127.0.0.1:8700 (put a TLS proxy in front for anything beyond loopback)")
    return DaemonAddress(0, parts.hostname, parts.port or 80, "")
