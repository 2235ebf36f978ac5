"""`vigil export DIR`: the box's logs, lineage and audit trail as hive-partitioned Parquet, for Spark,
Trino or DuckDB to read across a fleet (docs/scaling.md).

Logs (predictions, feedback, rejections, drift results, audit rows, alias moves, incident events)
are appended under `DIR/<table>/box=<box>/[model=<partition value>/]day=<date>/`. Each table has its
own watermark, committed with the table's new files (appliance/maintenance/lake/journal.py): an export stopped at
any point and run again writes every row exactly once. Each run takes the rows after the watermark up
to a minute ago, so rows still being committed are never skipped. Current-state tables (lineage,
versions, aliases, incidents, alerts) replace their one file per box atomically. Many boxes can
export into one shared directory: their partitions never collide. Before a box's first export into a
directory, a file already at one of its current-state paths is refused (it is not Vigil's).
"""

from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.access.output_paths import require_absent, require_directory
from appliance.clock import utc_now
from appliance.config import BOX_PATTERN
from appliance.errors import ExportError, OutputRefused
from appliance.maintenance.lake import journal
from appliance.core.durable import fsync_directory, fsync_file
from appliance.maintenance.lake.files import exclusive, failpoint
from appliance.store import lake_queries as lq

LAG = timedelta(minutes=1)
_BOX = re.compile(BOX_PATTERN)


def export(ctx: Any, directory: Path, box: str | None, full: bool) -> dict[str, Any]:
    """Export what is new since this box's watermarks into `directory` (with `full`: everything, replacing
    the box's earlier files)."""
    box = box or socket.gethostname()
    if not _BOX.fullmatch(box):
        raise ExportError("--box is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                            "(it names a partition)")
    directory = require_directory(directory.resolve())
    lake = journal.BoxLake(directory, box)
    _refuse_foreign_files(lake)
    try:
        lake.control.mkdir(parents=True, exist_ok=True)
        with exclusive(lake.control / "lock", f"an export of box {box} into {directory}"):
            until = utc_now() - LAG
            resumed = {table: journal.finish_pending(lake, table) for table in lq.LOGS}
            rows = {table: _export_log(ctx, lake, table, until, full) for table in lq.LOGS}
            states = {name: _replace_state(ctx, lake, name) for name in lq.STATES}
    except OSError as e:  # what is committed stays; the next export finishes or redoes the rest
        raise OutputRefused(f"the export into {directory} stopped: {e}; run it again") from e
    watermarks = {table: _time_of(journal.watermark(lake, table)) for table in lq.LOGS}
    return {"directory": str(directory), "box": box, "until": until, "rows": rows,
            "resumed": {table: n for table, n in resumed.items() if n}, "watermarks": watermarks,
            "current_state": states}


def _export_log(ctx: Any, lake: journal.BoxLake, table: str, until: datetime, full: bool) -> int:
    """Copy the table's rows after its watermark (from the start with `full`) and commit them."""
    after = None if full else journal.watermark(lake, table)
    staging = journal.discard_staging(lake, table)
    with ctx.store.transaction():  # the range's end and its rows from one snapshot
        upto = lq.range_end(ctx.store, table, after, until)
        if upto is None and not full:
            return 0
        rows = 0 if upto is None else lq.copy_range(ctx.store, table, staging, lake.box, after, upto)
    journal.commit(lake, table, after, upto, rows, replace=full)
    return rows


def _replace_state(ctx: Any, lake: journal.BoxLake, name: str) -> int:
    """Write a current-state table beside its place, fsync it, then rename it over the old file."""
    target = lq.state_file(lake.root, name, lake.box)
    staging = journal.discard_staging(lake, name)
    staging.mkdir()
    staged = staging / "data.parquet"
    rows = lq.copy_state(ctx.store, name, staged, lake.box)
    fsync_file(staged)
    failpoint(name, "state")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    fsync_directory(target.parent)
    staging.rmdir()
    return rows


def _time_of(key: list[Any] | None) -> datetime | None:
    return None if key is None else key[0]


def _refuse_foreign_files(lake: journal.BoxLake) -> None:
    """The current-state files of a box are rewritten on every export; before the box's first export
    into the directory (no control folder yet), a file at one of those paths is not Vigil's: refused.
    So is a lake written with an earlier layout (one watermark file per box)."""
    legacy = lake.root / "_vigil_export" / f"{lake.box}.json"
    if legacy.exists():
        raise OutputRefused(f"{lake.root} holds an export of box {lake.box} in an earlier layout ({legacy}); "
                            "export into a new directory")
    if lake.control.exists():
        return
    for name in lq.STATES:
        require_absent(lq.state_file(lake.root, name, lake.box))
