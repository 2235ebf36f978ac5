"""`vigil export DIR`: the box's logs, lineage and audit trail as hive-partitioned Parquet, for Spark,
Trino or DuckDB to read across a fleet (docs/scaling.md).

Logs (predictions, feedback, rejections, drift results, audit rows, alias moves, incident events)
are appended as new files under `DIR/<table>/box=<box>/[model_name=<m>/]day=<date>/`; each run
writes only the rows since the box's previous export (remembered in `DIR/_vigil_export/<box>.json`),
up to a minute ago, so rows still being committed are never skipped. Current-state tables (lineage,
versions, aliases, incidents, alerts) are rewritten whole under `DIR/<table>/box=<box>/`. Many boxes
can export into one shared directory: their partitions never collide. Before a box's first export
into a directory, a file already at one of its current-state paths is refused (it is not Vigil's).
"""

from __future__ import annotations

import json
import os
import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.access.output_paths import require_absent, require_directory
from appliance.clock import utc_now
from appliance.errors import RegistryError
from appliance.store import lake_queries as lq

LAG = timedelta(minutes=1)


def _state_path(directory: Path, box: str) -> Path:
    return directory / "_vigil_export" / f"{box}.json"


def export(ctx: Any, directory: Path, box: str | None, full: bool) -> dict[str, Any]:
    box = box or socket.gethostname()
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", box):
        raise RegistryError("--box is 1-64 letters, digits, '.', '_' or '-' (it names a partition)")
    directory = require_directory(directory.resolve())
    state = _state_path(directory, box)
    _refuse_foreign_files(directory, box, state)
    directory.mkdir(parents=True, exist_ok=True)
    since: datetime | None = None
    if state.exists() and not full:
        since = datetime.fromisoformat(json.loads(state.read_text(encoding="utf-8"))["until"])
    until = utc_now() - LAG
    logs = {table: lq.append_log(ctx.store, table, directory, box, since, until) for table in lq.LOGS}
    states = {name: lq.write_state(ctx.store, name, directory, box) for name in lq.STATES}
    state.parent.mkdir(exist_ok=True)
    staged = state.with_suffix(".partial")
    staged.write_text(json.dumps({"box": box, "until": until.isoformat(), "exported_at": utc_now().isoformat()}),
                      encoding="utf-8")
    os.replace(staged, state)
    return {"directory": str(directory), "box": box, "since": since, "until": until, "rows": logs,
            "current_state": states}


def _refuse_foreign_files(directory: Path, box: str, state: Path) -> None:
    """The current-state files of a box are rewritten on every export; before the box's first export
    into `directory` (no state file yet), a file at one of those paths is not Vigil's: refused."""
    if state.exists():
        return
    for name in lq.STATES:
        require_absent(lq.state_file(directory, name, box))
