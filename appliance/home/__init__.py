"""The Vigil home: one directory holding the store, artifacts, dataset snapshots and config.

The home is private to the account that runs Vigil: the directory and every folder in it 0700, every
file 0600, whatever the umask (the CLI and the daemon set it to 077; `vigil init` and the daemon's
start take group and other permissions off what is already there). A home that other accounts may
write to is refused, as PostgreSQL refuses such a data directory: they could replace its files.

`initialise` creates a home (`vigil init`); `context` opens one for a command (`AppContext`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import HomeError

DEFAULT_HOME = "vigil-home"
STORE_FILE = "vigil.duckdb"


@dataclass(frozen=True, slots=True)
class Home:
    """Paths inside a Vigil home."""

    root: Path

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def config_path(self) -> Path:
        return self.root / "vigil.toml"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def require(self) -> "Home":
        """Refuse a directory that was never initialised."""
        if not self.store_path.exists():
            raise HomeError(
                f"no Vigil home at {self.root} (no {STORE_FILE}); run `vigil init --home {self.root}`"
            )
        return self


def resolve_home(explicit: str | None = None) -> Home:
    """`--home`, else `$VIGIL_HOME`, else `./vigil-home`."""
    chosen = explicit or os.environ.get("VIGIL_HOME") or DEFAULT_HOME
    return Home(Path(chosen).expanduser().resolve())


PRIVATE_UMASK = 0o077
SHARED_BITS = 0o077  # group and other permissions
WRITABLE_BY_OTHERS = 0o022


def private_umask() -> None:
    """Files and folders this process creates are its account's alone (0600 / 0700)."""
    os.umask(PRIVATE_UMASK)


def refuse_shared_home(root: Path) -> None:
    """Refuse a home that another account may write to (group- or world-writable)."""
    mode = root.stat().st_mode & 0o7777
    if mode & WRITABLE_BY_OTHERS:
        raise HomeError(f"the home {root} is group- or world-writable (mode {mode:04o}): other accounts could "
                        f"replace its files; run `chmod 700 {root}`")


def make_private(root: Path) -> int:
    """Take group and other permissions off the home and everything in it that this account owns
    (never adding any, never following a symlink); returns how many modes changed."""
    changed = _private(root)
    for folder, folders, files in os.walk(root):
        for name in (*folders, *files):
            changed += _private(Path(folder) / name)
    return changed


def _private(path: Path) -> int:
    try:
        found = path.lstat()
        if stat.S_ISLNK(found.st_mode) or found.st_uid != os.getuid() or not found.st_mode & SHARED_BITS:
            return 0
        os.chmod(path, stat.S_IMODE(found.st_mode) & ~SHARED_BITS)
    except OSError:  # gone meanwhile, or not ours to change: left as it is
        return 0
    return 1
