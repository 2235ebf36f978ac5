"""SQL of the partitioned Parquet export (`vigil export`, appliance/maintenance/lake/export.py).

An append-only log is exported in ranges of a strict total order: each table's rows are ordered by
its time column and then by columns that tell rows at the same instant apart (`LogTable.keys`). A
range is "after the previous watermark, up to and including the newest row older than the cut", so
a row is in exactly one range whatever the clock did. Rows are written by DuckDB's partitioned COPY
into a staging folder, under hive partitions `box=`, `model=` (the partition value of the model name,
see `partition_value_sql`) and `day=`; the model name itself stays a column of every file. Small
current-state tables are copied whole into one file per box.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.store.connection import Store, sql_literal


@dataclass(frozen=True, slots=True)
class LogTable:
    """An append-only table: its time column, the columns after it in the export order, and whether its
    files are partitioned by model."""

    time: str
    keys: tuple[str, ...]
    by_model: bool


LOGS: dict[str, LogTable] = {
    "prediction_log": LogTable("logged_at", ("request_id", "row_index", "route", "version"), True),
    "feedback": LogTable("received_at", ("request_id", "row_index"), True),
    "rejected_requests": LogTable("received_at", ("request_id", "status", "reason"), True),
    "drift_results": LogTable("window_end", ("run_id", "model_name", "version", "feature",
                                             "coalesce(segment_column, '')", "coalesce(segment_value, '')",
                                             "metric"), True),
    "audit_log": LogTable("recorded_at", ("id",), False),
    "deployments": LogTable("changed_at", ("id",), True),
    "incident_events": LogTable("at_time", ("incident_id", "kind", "actor"), False),
}
STATES: dict[str, str] = {
    "version_lineage": "SELECT * FROM version_lineage",
    "model_versions": "SELECT * EXCLUDE (model_card) FROM model_versions",
    "current_aliases": "SELECT * FROM current_aliases",
    "incidents": "SELECT * FROM incidents",
    "alerts": "SELECT * FROM alerts",
}

# The partition value of a name (appliance/maintenance/lake/partitions.py holds the same rule in Python): the name
# itself when it is 1-64 letters, digits, '_', '.' or '-'; otherwise its first 32 characters with
# every other character as '_', then '~' and the first 16 hex digits of the SHA-256 of its UTF-8 bytes.
# NULL is '~none'. A value with '~' is never a name kept as it is, so the two forms never meet.
PARTITION_VALUE = (
    "CASE WHEN {c} IS NULL THEN '~none' "
    "WHEN regexp_full_match({c}, '[A-Za-z0-9_.-]{{1,64}}') THEN {c} "
    "ELSE left(regexp_replace({c}, '[^A-Za-z0-9_.-]', '_', 'g'), 32) || '~' || left(sha256({c}), 16) END"
)


def partition_value_sql(column: str) -> str:
    return PARTITION_VALUE.format(c=column)


def _order(table: str) -> str:
    spec = LOGS[table]
    return "(" + ", ".join((spec.time, *spec.keys)) + ")"


def _compare(table: str, op: str, last_op: str, key: list[Any]) -> tuple[str, list[Any]]:
    """`(time, keys...) <op> key` spelt out lexicographically: a row comparison of DuckDB cannot carry
    both bounds of a range (its optimiser turns the pair into an unsupported BETWEEN)."""
    spec = LOGS[table]
    columns = (spec.time, *spec.keys)
    sql, params = f"{columns[-1]} {last_op} ?", [key[-1]]
    for column, value in zip(reversed(columns[:-1]), reversed(key[:-1])):
        sql, params = f"({column} {op} ? OR ({column} = ? AND {sql}))", [value, value, *params]
    return sql, params


def _after(table: str, after: list[Any] | None) -> tuple[str, list[Any]]:
    return ("true", []) if after is None else _compare(table, ">", ">", after)


def range_end(store: Store, table: str, after: list[Any] | None, until: datetime) -> list[Any] | None:
    """The order key of the newest row after `after` and older than `until` (None: no such row)."""
    condition, params = _after(table, after)
    found = store.scalar(f"SELECT max({_order(table)}) FROM {table} WHERE {condition} AND {LOGS[table].time} < ?",
                         [*params, until])
    if found is None:
        return None
    return list(found.values()) if isinstance(found, dict) else list(found)


def copy_range(store: Store, table: str, staging: Path, box: str, after: list[Any] | None,
               upto: list[Any]) -> int:
    """Write the rows with order key in (after, upto] under `staging` as hive partitions (box, [model,] day),
    one file per partition; returns the rows written."""
    spec = LOGS[table]
    condition, params = _after(table, after)
    model = f", {partition_value_sql('model_name')} AS model" if spec.by_model else ""
    by = "box, model, day" if spec.by_model else "box, day"
    upper, upper_params = _compare(table, "<", "<=", upto)
    rows = store.execute(
        f"COPY (SELECT ? AS box, *{model}, {spec.time}::DATE AS day FROM {table} "
        f"WHERE {condition} AND {upper}) "
        f"TO {sql_literal(str(staging))} (FORMAT parquet, PARTITION_BY ({by}), FILENAME_PATTERN 'part-{{i}}')",
        [box, *params, *upper_params])
    return int(rows[0][0]) if rows else 0


def state_file(directory: Path, name: str, box: str) -> Path:
    """Where a current-state table of a box is written: `<dir>/<name>/box=<box>/data.parquet`."""
    return directory / name / f"box={box}" / "data.parquet"


def copy_state(store: Store, name: str, target: Path, box: str) -> int:
    """Copy a current-state table (with the box as a column) into the Parquet file `target`; returns its rows."""
    sql = STATES[name]
    rows = store.execute(f"COPY (SELECT {sql_literal(box)} AS box, * FROM ({sql})) TO {sql_literal(str(target))} "
                         "(FORMAT parquet)")
    return int(rows[0][0]) if rows else 0


def partition_values(store: Store, names: list[str | None]) -> list[str]:
    """The partition value of each name, as the export's SQL computes it (for checks and docs)."""
    sql = f"SELECT {partition_value_sql('CAST(? AS VARCHAR)')}"
    return [str(store.scalar(sql, [name] * 5)) for name in names]
