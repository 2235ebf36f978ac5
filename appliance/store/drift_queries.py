"""SQL of drift checks: the current window's logged inputs and scores, and the results tables."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from appliance.core.periods import Period
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


def window_inputs(store: Store, model_name: str, version: int, period: Period,
                  features: list[str], sample: int | None = None, classes: bool = False) -> pl.DataFrame:
    """The inputs and score of every row the version answered in the period, placed on its axis (shadow rows
    excluded);
    with `sample`, a uniform random sample of at most that many of them (repeatable). With `classes`
    (a multiclass version), also the chosen class's position and every class's probability."""
    table = pq.inputs_table(model_name)
    if not store.has_table(table):
        return pl.DataFrame()
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}
    selected = ", ".join(f"i.{pq.column_name(f)}" for f in features if f in present)
    outputs = ', p.prediction AS "(class)", p.probabilities AS "(probabilities)"' if classes else ""
    sql = (f'SELECT {selected}, coalesce(p.score, p.prediction) AS "(prediction)"{outputs} FROM prediction_log p '
           f"JOIN {table} i USING (request_id, row_index) "
           "WHERE p.model_name = ? AND p.version = ? AND p.route <> 'shadow' "
           f"AND {pq.time_expression(period.axis)} >= ? AND {pq.time_expression(period.axis)} < ?")
    if sample is not None:
        sql = f"SELECT * FROM ({sql}) USING SAMPLE reservoir({int(sample)} ROWS) REPEATABLE (7)"
    columns, rows = store.table_params(sql, [model_name, version, period.start, period.end])
    return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)


def insert_run(store: Store, row: dict[str, Any]) -> int:
    return int(store.scalar(
        "INSERT INTO drift_runs (model_name, version, reference, window_start, window_end, current_rows, "
        "reference_rows, verdict, computed_at, computed_by, axis) VALUES ($model_name, $version, $reference, "
        "$window_start, $window_end, $current_rows, $reference_rows, $verdict, $computed_at, $computed_by, $axis) "
        "RETURNING run_id", row))


def insert_results(store: Store, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        store.append_rows("drift_results", None, rows)


def insert_explanation(store: Store, run_id: int, feature: str, segment_column: str | None,
                       segment_value: str | None, explanation: dict[str, Any]) -> None:
    store.execute("INSERT INTO drift_explanations VALUES (?, ?, ?, ?, ?)",
                  [run_id, feature, segment_column, segment_value, json.dumps(explanation)])


def find_profile(store: Store, model_name: str, version: int, profile_format: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM reference_profiles WHERE model_name = ? AND version = ? AND profile_format = ?",
                     [model_name, version, profile_format])


def upsert_profile(store: Store, row: dict[str, Any]) -> None:
    store.execute("INSERT OR REPLACE INTO reference_profiles VALUES ($model_name, $version, $profile_format, "
                  "$profile_sha256, $profile_path, $profile_bytes, $reference_rows, $created_at)", row)
