"""SQL of label-free performance estimates: the rows a version scored in a period (with labels when
they came), the fitted references, and the stored estimates per chunk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from appliance.core.periods import Period
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store

AND_LIVE = "AND p.route <> 'batch' "  # rows the router answered (or shadowed), not a file an operator chose
ESTIMATE_COLUMNS = ("run_id", "model_name", "version", "axis", "chunk_index", "chunk_start", "chunk_end", "rows",
                    "metric", "estimate", "sampling_error", "lower", "upper", "lower_threshold", "upper_threshold",
                    "alert", "labelled_rows", "realized")


def scored_rows(store: Store, model_name: str, version: int, period: Period, features: list[str],
                live_only: bool = False) -> pl.DataFrame:
    """Every row the version scored in the period (live or shadow; with `live_only`, not batch rows),
    ordered by its time on the period's axis: `(at)`, prediction, score, probabilities, the label's value
    (NULL until one came) and the named inputs."""
    at = pq.time_expression(period.axis)
    table = pq.inputs_table(model_name)
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])} if features else set()
    chosen = [f for f in features if f in present]
    inputs = "".join(f", i.{pq.column_name(f)}" for f in chosen)
    inputs += ', i.request_id IS NOT NULL AS "(inputs kept)"' if chosen else ""  # an import may keep a sample
    join = f" LEFT JOIN {table} i USING (request_id, row_index)" if chosen else ""
    sql = (f'SELECT {at} AS "(at)", p.prediction AS "(prediction)", p.score AS "(score)", '
           f'p.probabilities AS "(probabilities)", f.label_value AS "(label)"{inputs} '
           f"FROM prediction_log p LEFT JOIN feedback f USING (request_id, row_index, model_name){join} "
           f"WHERE p.model_name = ? AND p.version = ? AND {at} >= ? AND {at} < ? "
           f"{AND_LIVE if live_only else ''}"
           f'ORDER BY "(at)", p.request_id, p.row_index')
    return pl.from_arrow(store.arrow(sql, [model_name, version, period.start, period.end]))  # type: ignore[return-value]


def find_reference(store: Store, model_name: str, version: int, reference_format: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM estimation_references WHERE model_name = ? AND version = ? "
                     "AND reference_format = ?", [model_name, version, reference_format])


def upsert_reference(store: Store, row: dict[str, Any]) -> None:
    store.execute("INSERT OR REPLACE INTO estimation_references VALUES ($model_name, $version, $reference_format, "
                  "$method, $reference_sha256, $reference_path, $reference_bytes, $reference_rows, $calibrated, "
                  "$created_at)", row)


def insert_run(store: Store, row: dict[str, Any]) -> int:
    return int(store.scalar(
        "INSERT INTO estimate_runs (model_name, version, method, axis, period_start, period_end, chunking, rows, "
        "computed_at, computed_by) VALUES ($model_name, $version, $method, $axis, $period_start, $period_end, "
        "$chunking, $rows, $computed_at, $computed_by) RETURNING run_id", row))


def insert_estimates(store: Store, rows: list[tuple[Any, ...]]) -> None:
    """Rows in the order of ESTIMATE_COLUMNS."""
    sql = (f"INSERT INTO performance_estimates ({', '.join(ESTIMATE_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in ESTIMATE_COLUMNS)})")
    for row in rows:
        store.execute(sql, list(row))


def runs(store: Store, model_name: str, start: datetime | None, end: datetime | None, limit: int) -> list[dict[str, Any]]:
    """The model's stored estimate runs overlapping [start, end) (all when not given), newest first."""
    return store.rows(
        "SELECT * FROM estimate_runs WHERE model_name = ? AND (? IS NULL OR period_end > ?) "
        "AND (? IS NULL OR period_start < ?) ORDER BY run_id DESC LIMIT ?",
        [model_name, start, start, end, end, limit])


def estimates_of(store: Store, run_ids: list[int]) -> list[dict[str, Any]]:
    if not run_ids:
        return []
    return store.rows("SELECT * FROM performance_estimates WHERE run_id IN (SELECT unnest(?)) "
                      "ORDER BY run_id DESC, chunk_index, metric", [run_ids])
