"""Where the files a caller names are written, and how: confined through the daemon, never replacing one.

Through the daemon (the admin API), exports, audit exports, reports, bundles, backups and batch
outputs go only under `<home>/exports/` or a directory listed in `[exports] allowed_dirs`: the daemon
writes as its own account, so a caller must not choose where (its config, its store, another
account's files). The path is resolved first (symlinks and `..`), so neither leads outside. A
relative path sent to the daemon is taken under `<home>/exports/`. Run without the daemon, the CLI
writes as the OS account running it, wherever that account may write.

Either way a file a caller names is created, never replaced: it is written under a private scratch
name beside its target and linked into place only if nothing is there, so a file that appears
meanwhile is not replaced either.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator, Sequence

from appliance.errors import InputRefused, OutputRefused

EXPORTS_DIR = "exports"

_confined: ContextVar[bool] = ContextVar("outputs_confined", default=False)


@contextmanager
def confined() -> Iterator[None]:
    """Operations run inside write only where the daemon's callers may have outputs written."""
    token = _confined.set(True)
    try:
        yield
    finally:
        _confined.reset(token)


def allowed_roots(ctx: Any) -> list[Path]:
    """`<home>/exports/` and the directories of `[exports] allowed_dirs`, resolved."""
    listed = [Path(d).expanduser().resolve() for d in ctx.config.exports.allowed_dirs]
    return [(ctx.home.root / EXPORTS_DIR).resolve(), *listed]


def output_path(ctx: Any, named: str | Path) -> Path:
    """The resolved path an operation writes to; through the daemon, refused outside the allowed roots."""
    path = Path(named).expanduser()
    if not _confined.get():
        return path.resolve()
    roots = allowed_roots(ctx)
    resolved = (path if path.is_absolute() else roots[0] / path).resolve()
    if not any(resolved == root or root in resolved.parents for root in roots):
        where = " or ".join(f"{root}/" for root in roots)
        raise OutputRefused(f"{named}: through the daemon, outputs go only under {where} "
                            "(an admin may list more directories in [exports] allowed_dirs)")
    if resolved == roots[0] or roots[0] in resolved.parents:
        roots[0].mkdir(mode=0o700, exist_ok=True)
    return resolved


def input_path(home: Path, named: str | Path) -> Path:
    """A file an operation reads for a caller, resolved; through the daemon, refused inside the home (its
    store, keys, tokens and config are the daemon's, not the caller's) unless under `<home>/exports/`."""
    resolved = Path(named).expanduser().resolve()
    if _confined.get() and _private_to(home, resolved):
        raise InputRefused(f"{named}: through the daemon, Vigil reads no file of its home for a caller (only "
                           f"{home.resolve() / EXPORTS_DIR}/); name a file outside {home.resolve()}")
    return resolved


def read_roots(home: Path, base_dir: Path) -> list[Path] | None:
    """Through the daemon, the folders a caller's source query may read: the folder of the spec that holds
    it (unless that folder holds the home) and `<home>/exports/`. None without the daemon: the caller's
    own account reads, wherever it may."""
    if not _confined.get():
        return None
    home, base = home.resolve(), base_dir.resolve()
    roots = [home / EXPORTS_DIR]
    if not _private_to(home, base) and home not in base.parents and base not in home.parents:
        roots.append(base)
    return roots


def _private_to(home: Path, resolved: Path) -> bool:
    home = home.resolve()
    exports = home / EXPORTS_DIR
    inside = resolved == home or home in resolved.parents
    return inside and not (resolved == exports or exports in resolved.parents)


def require_absent(target: Path) -> Path:
    """Refuse a target that exists: Vigil never replaces a file it is asked to write."""
    if target.exists() or target.is_symlink():
        raise _exists(target)
    return target


def require_directory(directory: Path) -> Path:
    """Refuse a directory output whose path is taken by something else than a directory."""
    if (directory.exists() or directory.is_symlink()) and not directory.is_dir():
        raise OutputRefused(f"{directory} exists and is not a directory; choose a directory")
    return directory


def _exists(target: Path) -> OutputRefused:
    return OutputRefused(f"{target} already exists; Vigil never replaces an existing file: remove it or choose "
                         "a new name")


@contextmanager
def new_file(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """A private scratch file beside `target` to write into; on success it becomes `target`. Unless
    `replace` (outputs Vigil names itself, e.g. a scheduled job's), an existing `target` is refused."""
    if not replace:
        require_absent(target)
    require_directory(target.parent).mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(descriptor)
    staged = Path(name)
    try:
        yield staged
        if replace:
            os.replace(staged, target)
        else:
            publish(staged, target)
    finally:
        staged.unlink(missing_ok=True)


@contextmanager
def new_files(directory: Path, names: Sequence[str]) -> Iterator[Path]:
    """A private scratch directory inside `directory` to write `names` into (files or folders); on
    success each moves to `directory/NAME`. Refused, before anything is written, if any exists."""
    for name in names:
        require_absent(require_directory(directory) / name)
    directory.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=directory, prefix=".vigil-", suffix=".partial"))
    try:
        yield scratch
        for name in names:
            if (scratch / name).exists():
                publish(scratch / name, directory / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def publish(staged: Path, target: Path) -> None:
    """Move `staged` to `target` only if nothing is at `target`. A file is hard-linked (which fails on
    an existing name, atomically); a folder, or a file system without hard links, is renamed after a check."""
    if staged.is_dir():
        require_absent(target)
        os.rename(staged, target)
        return
    try:
        os.link(staged, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:
        require_absent(target)
        os.rename(staged, target)
        return
    staged.unlink()
