"""Helpers of the lake export tests: rows in a real store (with ties in time and hostile model names),
what the store holds per table, and what a lake directory holds, read with DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

# Names a store may hold that are unsafe in a path: too long for a file name, separators, traversal,
# hive's '=' and '%', control characters, non-ASCII, and two names one only by case apart.
HOSTILE = ["m" * 381, "a/b", "..", "k=v", "line\nbreak", "ünï©ødé 模型", "%2F", "Delay", "delay"]
TABLES = ("prediction_log", "feedback", "rejected_requests", "audit_log", "incident_events")
START = datetime(2024, 3, 1, 23, 59, 0)  # rows cross midnight: two day partitions
KEYS = {"prediction_log": "request_id, row_index, route", "feedback": "request_id, row_index",
        "rejected_requests": "request_id", "audit_log": "id", "incident_events": "incident_id, kind, actor"}


def add_rows(store_path: Path, tag: str, count: int, names: list[str] = HOSTILE, start: datetime = START) -> None:
    """`count` predictions from `start` (four per second, so many share a timestamp) across `names`, with
    feedback for every other one, a rejection per ten (some without a model), audit rows and incident
    events."""
    from appliance.store.connection import Store

    with Store.open(store_path) as store:
        store.execute(
            "INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, api, "
            "prediction, score, latency_ms, flags) SELECT ? || lpad(i::VARCHAR, 6, '0'), i % 2, "
            "?::TIMESTAMP + to_seconds(i // 4), (?::VARCHAR[])[i % ? + 1], 1, 'champion', 'native', 1, 0.5, 2.5, "
            "[] FROM range(?) t(i)", [tag, start, names, len(names), count])
        store.execute(
            "INSERT INTO feedback (request_id, row_index, model_name, label, label_value, received_at) "
            "SELECT request_id, row_index, model_name, 'true', 1, logged_at FROM prediction_log "
            "WHERE request_id LIKE ? || '%' AND row_index = 0", [tag])
        store.execute(
            "INSERT INTO rejected_requests SELECT ? || 'rej' || i, ?::TIMESTAMP + to_seconds(i), "
            "CASE WHEN i % 2 = 0 THEN NULL ELSE (?::VARCHAR[])[i % ? + 1] END, 'native', 400, 'invalid_json', "
            "'{}', '' FROM range(?) t(i)", [tag, start, names, len(names), max(1, count // 10)])
        store.execute(
            "INSERT INTO audit_log (recorded_at, actor, action, model_name, details) SELECT "
            "?::TIMESTAMP + to_seconds(i // 3), 'tester', 'test.' || ?, (?::VARCHAR[])[i % ? + 1], '{}' "
            "FROM range(?) t(i)", [start, tag, names, len(names), max(1, count // 5)])
        store.execute(
            "INSERT INTO incident_events SELECT i, ?::TIMESTAMP + to_seconds(i // 2), 'note', ? || i, 'x' "
            "FROM range(?) t(i)", [start, tag, max(1, count // 8)])


def store_counts(store_path: Path) -> dict[str, int]:
    from appliance.store.connection import Store

    with Store.open(store_path, read_only=True) as store:
        return {table: int(store.scalar(f"SELECT count(*) FROM {table}")) for table in TABLES}


def store_names(store_path: Path) -> set[str | None]:
    from appliance.store.connection import Store

    with Store.open(store_path, read_only=True) as store:
        return {name for (name,) in store.execute("SELECT DISTINCT model_name FROM prediction_log")}


def lake_rows(lake: Path, table: str, select: str = "count(*)") -> list[tuple[Any, ...]]:
    """`SELECT box, <select> ... GROUP BY box` over the table's Parquet files, read as hive partitions."""
    import duckdb

    if not list((lake / table).glob("**/*.parquet")):
        return []
    return duckdb.sql(f"SELECT box, {select} FROM read_parquet('{lake}/{table}/**/*.parquet', "
                      "hive_partitioning = true) GROUP BY box ORDER BY box").fetchall()


def lake_counts(lake: Path, box: str) -> dict[str, int]:
    """Rows of each table in the lake for `box`; fails if any row is there twice."""
    counts = {}
    for table in TABLES:
        found = dict((b, (n, distinct)) for b, n, distinct in
                     lake_rows(lake, table, f"count(*), count(DISTINCT ({KEYS[table]}))"))
        rows, distinct = found.get(box, (0, 0))
        assert rows == distinct, f"{table} of box {box}: {rows} rows, {distinct} distinct"
        counts[table] = rows
    return counts
