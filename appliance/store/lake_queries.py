"""SQL of the partitioned Parquet export (`vigil export`): append-only logs are written as new files
under hive partitions (box, model, day); small current-state tables are rewritten whole per box."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from appliance.store.connection import Store

# table -> (time column, partition columns besides box and day)
LOGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "prediction_log": ("logged_at", ("model_name",)),
    "feedback": ("received_at", ("model_name",)),
    "rejected_requests": ("received_at", ("model_name",)),
    "drift_results": ("window_end", ("model_name",)),
    "audit_log": ("recorded_at", ()),
    "deployments": ("changed_at", ("model_name",)),
    "incident_events": ("at_time", ()),
}
STATES: dict[str, str] = {
    "version_lineage": "SELECT * FROM version_lineage",
    "model_versions": "SELECT * EXCLUDE (model_card) FROM model_versions",
    "current_aliases": "SELECT * FROM current_aliases",
    "incidents": "SELECT * FROM incidents",
    "alerts": "SELECT * FROM alerts",
}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def append_log(store: Store, table: str, directory: Path, box: str, since: datetime | None,
               until: datetime) -> int:
    """Append `table`'s rows with time in [since, until) as new files; returns the rows written."""
    column, partitions = LOGS[table]
    where = f"{column} < ?" + ("" if since is None else f" AND {column} >= ?")
    params = [until] if since is None else [until, since]
    count = int(store.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params))
    if count == 0:
        return 0
    by = ", ".join(("box", *partitions, "day"))
    store.execute(
        f"COPY (SELECT {_literal(box)} AS box, *, {column}::DATE AS day FROM {table} WHERE {where}) "
        f"TO {_literal(str(directory / table))} (FORMAT parquet, PARTITION_BY ({by}), APPEND true, "
        "FILENAME_PATTERN 'part_{uuid}')", params)
    return count


def state_file(directory: Path, name: str, box: str) -> Path:
    """Where a current-state table of a box is written: `<dir>/<name>/box=<box>/data.parquet`."""
    return directory / name / f"box={box}" / "data.parquet"


def write_state(store: Store, name: str, directory: Path, box: str) -> int:
    """Rewrite a current-state table for this box (`state_file`)."""
    target = state_file(directory, name, box)
    target.parent.mkdir(parents=True, exist_ok=True)
    sql = STATES[name]
    store.execute_script(f"COPY (SELECT {_literal(box)} AS box, * FROM ({sql})) TO "
                         f"{_literal(str(target))} (FORMAT parquet)")
    return int(store.scalar(f"SELECT count(*) FROM ({sql})"))
