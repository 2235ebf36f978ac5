"""SQL of outcome performance: answered rows joined with their labels, for a model and window."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


def labelled_window(store: Store, model_name: str, start: datetime, end: datetime,
                    segments: list[str]) -> pl.DataFrame:
    """Every answered row of the model in [start, end) with its label (NULL when none came) and segments;
    `probabilities` holds every class's probability for multiclass rows (NULL otherwise)."""
    table = pq.inputs_table(model_name)
    has_inputs = store.has_table(table)
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])} if has_inputs else set()
    chosen = [s for s in segments if s in present]
    segment_sql = "".join(f", CAST(i.{pq.column_name(s)} AS VARCHAR) AS {pq.column_name(s)}" for s in chosen)
    join = f"LEFT JOIN {table} i USING (request_id, row_index)" if chosen else ""
    columns, rows = store.table_params(
        f"SELECT p.request_id, p.logged_at, p.version, p.prediction, p.score, p.probabilities, f.label, "
        f"f.label_value, f.received_at, p.audit_sample"
        f"{segment_sql} FROM prediction_log p LEFT JOIN feedback f USING (request_id, row_index) {join} "
        "WHERE p.model_name = ? AND p.route <> 'shadow' AND p.logged_at >= ? AND p.logged_at < ? "
        "ORDER BY p.logged_at",
        [model_name, start, end])
    return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
