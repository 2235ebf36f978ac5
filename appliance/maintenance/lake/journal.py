"""One table's new files and its new watermark, committed together.

Each box keeps, per append-only table, a journal `_vigil_export/<box>/<table>.json`: the watermark
(the order key of the last row in the lake) and at most one pending commit. An export of a table:

1. copies the rows after the watermark into a staging folder `_vigil_export/<box>/staging/<table>/`
   (no reader looks there: Spark and Hive skip `_` names, and each table is read under its own
   folder), fsyncs them;
2. writes the journal with the pending commit: the range (after, upto], and each staged file with the
   name it will have in the lake. This atomic write (write, fsync, rename, fsync) is the commit point;
3. moves each file into its partition under that name (a rename within one file system: atomic), fsyncs
   the partition folders;
4. writes the journal with the watermark moved to `upto` and nothing pending; removes the staging folder.

An export stopped before step 2 left nothing a reader sees; the next one discards the staging folder and
starts from the same watermark. An export stopped after step 2 left a decided commit; the next one
first finishes it (moves whatever is still staged, keeps what was moved) and only then goes on. A
file's lake name is fixed by (box, table, range) and its rank, so finishing a commit twice replaces a
file by itself and never adds one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.errors import OutputRefused
from appliance.core.durable import fsync_directory, fsync_file
from appliance.maintenance.lake.files import failpoint, read_json, write_json

Key = list[Any]  # an order key: [time, tie-breaking values...]


@dataclass(frozen=True, slots=True)
class BoxLake:
    """A box's places in a lake directory."""

    root: Path
    box: str

    @property
    def control(self) -> Path:
        return self.root / "_vigil_export" / self.box

    def journal(self, table: str) -> Path:
        return self.control / f"{table}.json"

    def staging(self, table: str) -> Path:
        return self.control / "staging" / table


def encode_key(key: Key | None) -> list[Any] | None:
    if key is None:
        return None
    return [key[0].isoformat(), *key[1:]]


def decode_key(stored: list[Any] | None) -> Key | None:
    if stored is None:
        return None
    return [datetime.fromisoformat(stored[0]), *stored[1:]]


def read(lake: BoxLake, table: str) -> dict[str, Any]:
    path = lake.journal(table)
    if not path.exists():
        return {"watermark": None, "pending": None}
    return dict(read_json(path))


def watermark(lake: BoxLake, table: str) -> Key | None:
    return decode_key(read(lake, table)["watermark"])


def finish_pending(lake: BoxLake, table: str) -> int:
    """Finish a commit an earlier export decided but did not complete; returns its rows (0: none)."""
    pending = read(lake, table)["pending"]
    if pending is None:
        return 0
    _publish(lake, table, pending)
    return int(pending["rows"])


def discard_staging(lake: BoxLake, table: str) -> Path:
    """An empty staging folder for `table` (what an uncommitted export left there is discarded)."""
    staging = lake.staging(table)
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    return staging


def commit(lake: BoxLake, table: str, after: Key | None, upto: Key | None, rows: int, replace: bool) -> None:
    """Commit what `discard_staging(table)` now holds as the rows in (after, upto], then publish it.
    With `replace`, every other file of the box's table leaves the lake in the same commit."""
    staged = sorted(lake.staging(table).rglob("*.parquet"))
    for path in staged:
        fsync_file(path)
    failpoint(table, "staged")
    tag = _range_tag(lake.box, table, after, upto)
    files = [[str(path.relative_to(lake.root)), str(_lake_name(lake, table, path, tag, rank))]
             for rank, path in enumerate(staged)]
    pending = {"after": encode_key(after), "upto": encode_key(upto), "rows": rows, "files": files,
               "replace": replace}
    write_json(lake.journal(table), {"watermark": read(lake, table)["watermark"], "pending": pending})
    failpoint(table, "committed")
    _publish(lake, table, pending)


def _range_tag(box: str, table: str, after: Key | None, upto: Key | None) -> str:
    text = json.dumps([box, table, encode_key(after), encode_key(upto)], default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _lake_name(lake: BoxLake, table: str, staged: Path, tag: str, rank: int) -> Path:
    """`<table>/<the staged file's partition folders>/part-<range tag>-<rank>.parquet`; the rank runs over
    the whole commit, so two partitions that one file system sees as one folder never share a name."""
    partition = staged.parent.relative_to(lake.staging(table))
    return Path(table) / partition / f"part-{tag}-{rank:05d}.parquet"


def _publish(lake: BoxLake, table: str, pending: dict[str, Any]) -> None:
    folders: set[Path] = set()
    for rank, (staged_name, lake_name) in enumerate(pending["files"]):
        staged, target = lake.root / staged_name, lake.root / lake_name
        if staged.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        elif not target.exists():
            raise OutputRefused(f"{staged} of a committed export is gone and {target} is not there; restore it, "
                                f"or remove {lake.journal(table)} and this box's files of {table}, then export again")
        folders.add(target.parent)
        if rank == 0:
            failpoint(table, "published-one")
    for folder in folders:
        fsync_directory(folder)
    if pending["replace"]:
        _remove_others(lake, table, {lake.root / name for _, name in pending["files"]})
    failpoint(table, "published")
    write_json(lake.journal(table), {"watermark": pending["upto"], "pending": None})
    shutil.rmtree(lake.staging(table), ignore_errors=True)
    failpoint(table, "watermark")


def _remove_others(lake: BoxLake, table: str, kept: set[Path]) -> None:
    for path in (lake.root / table / f"box={lake.box}").rglob("*.parquet"):
        if path not in kept:
            path.unlink()
