"""Durable file steps of the lake export: an atomic JSON write, an exclusive per-box lock, and
the export's failure points.

Failure points: with `VIGIL_EXPORT_FAILPOINT=TABLE:STEP` in its environment, an export kills its own
process with SIGKILL when it reaches STEP of TABLE (as a power cut or `kill -9` would, leaving every
file as it is at that instant); `TABLE:STEP:raise` raises an OSError there instead. The steps, in
order: `staged` (files written, not committed), `committed` (the commit record written, no file
published), `published-one` (the first file in place), `published` (every file in place, the
watermark not moved), `watermark` (the table done, the next not begun); a current-state table has
`state` (its new file written, not yet in place). The tests use them to prove that an export stopped
at any step and run again leaves every row exactly once.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from typing import Any, Iterator

from appliance.core.durable import fsync_directory
from appliance.errors import OutputRefused

FAILPOINT_ENV = "VIGIL_EXPORT_FAILPOINT"


def failpoint(table: str, step: str) -> None:
    """Stop here if the environment names this step of this table (see the module's docstring)."""
    wanted = os.environ.get(FAILPOINT_ENV, "")
    if not wanted.startswith(f"{table}:{step}"):
        return
    if wanted == f"{table}:{step}:raise":
        raise OSError(f"export failure point {table}:{step}")
    if wanted == f"{table}:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def write_json(target: Path, value: Any) -> None:
    """Replace `target` with `value` as JSON, atomically and durably: write a hidden file beside it,
    fsync, rename over `target`, fsync the folder. A reader sees the old file or the new, never a part."""
    staged = target.with_name(f".{target.name}.partial")
    with open(staged, "w", encoding="utf-8") as handle:
        json.dump(value, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, target)
    fsync_directory(target.parent)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def exclusive(lock_file: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if missing); refused at once if another process
    holds it, so two exports of one box into one directory never interleave their commits."""
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputRefused(f"{what} is running already (it holds {lock_file}); try again when it ends") from None
        yield
    finally:
        os.close(descriptor)
