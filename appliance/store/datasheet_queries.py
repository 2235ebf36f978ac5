"""SQL of datasheets: each snapshot's column profile, measured by DuckDB from the snapshot file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from appliance.store.connection import Store, sql_literal

MAX_CATEGORIES = 50


def snapshot_of_version(store: Store, model_name: str, version: int) -> dict[str, Any] | None:
    """The snapshot a model version was trained on."""
    return store.row("SELECT d.* FROM model_versions v JOIN dataset_snapshots d USING (snapshot_id) "
                     "WHERE v.model_name = ? AND v.version = ?", [model_name, version])


def snapshots_by_prefix(store: Store, prefix: str) -> list[dict[str, Any]]:
    """The snapshots whose id starts with `prefix` (lower case)."""
    return store.rows("SELECT * FROM dataset_snapshots WHERE snapshot_id LIKE ? || '%'", [prefix])


def all_snapshots(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM dataset_snapshots")


def profile(store: Store, snapshot_id: str, path: Path) -> int:
    """(Re)measure every column of the snapshot file; returns the columns profiled."""
    measured = measure(store, path)
    store.execute("DELETE FROM datasheet_columns WHERE snapshot_id = ?", [snapshot_id])
    insert_columns(store, snapshot_id, measured)
    return len(measured)


def measure(store: Store, path: Path) -> list[tuple[Any, ...]]:
    """Each column of a Parquet file: name, type, missing share, min, max, distinct values and, for a
    text or boolean column with few values, the count of each (JSON). Any store can measure (a
    retraining process measures in an in-memory one and the daemon only inserts)."""
    source = f"read_parquet({sql_literal(str(path))})"
    summary = store.execute(f"SELECT column_name, column_type, min, max, approx_unique, count, null_percentage "
                            f"FROM (SUMMARIZE SELECT * FROM {source})")
    found = []
    for name, kind, low, high, distinct, count, null_percent in summary:
        categories = None
        if kind in ("VARCHAR", "BOOLEAN") and (distinct or 0) <= MAX_CATEGORIES:
            quoted = '"' + str(name).replace('"', '""') + '"'
            counts = store.execute(f"SELECT {quoted}::VARCHAR, count(*) FROM {source} WHERE {quoted} IS NOT NULL "
                                   "GROUP BY ALL ORDER BY 2 DESC, 1")
            categories = json.dumps({str(v): int(n) for v, n in counts})
        found.append((name, kind, float(null_percent or 0) / 100, low, high, distinct, categories))
    return found


def insert_columns(store: Store, snapshot_id: str, measured: list[tuple[Any, ...]]) -> None:
    for row in measured:
        store.execute("INSERT INTO datasheet_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [snapshot_id, *row])


def columns(store: Store, snapshot_id: str) -> list[dict[str, Any]]:
    return store.rows("SELECT column_name, column_type, missing_share, min_value, max_value, distinct_values, "
                      "categories FROM datasheet_columns WHERE snapshot_id = ? ORDER BY column_name", [snapshot_id])


def notes(store: Store, snapshot_id: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM datasheet_notes WHERE snapshot_id = ?", [snapshot_id])


def set_notes(store: Store, snapshot_id: str, collection: str | None, limitations: str | None, actor: str,
              at: Any) -> None:
    current = notes(store, snapshot_id) or {"collection_process": "", "known_limitations": ""}
    store.execute("INSERT OR REPLACE INTO datasheet_notes VALUES (?, ?, ?, ?, ?)",
                  [snapshot_id, current["collection_process"] if collection is None else collection,
                   current["known_limitations"] if limitations is None else limitations, actor, at])


def trained_on(store: Store, snapshot_id: str) -> list[dict[str, Any]]:
    return store.rows("SELECT model_name, version, target, positive_class, created_at FROM model_versions "
                      "WHERE snapshot_id = ? ORDER BY model_name, version", [snapshot_id])


def label_balance(store: Store, path: Path, target: str) -> list[tuple[str, int]]:
    quoted = '"' + target.replace('"', '""') + '"'
    return [(str(v), int(n)) for v, n in store.execute(
        f"SELECT {quoted}::VARCHAR, count(*) FROM read_parquet({sql_literal(str(path))}) "
        "GROUP BY ALL ORDER BY 2 DESC")]
