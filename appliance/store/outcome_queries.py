"""SQL of outcome performance: answered rows joined with their labels, for a model and window."""

from __future__ import annotations

import polars as pl

from appliance.core.periods import Period
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


def labelled_window(store: Store, model_name: str, period: Period, segments: list[str]) -> pl.DataFrame:
    """Every answered row of the model in the period (on its axis) with its label (NULL when none came) and
    segments; `(at)` is the row's time on the period's axis (buckets split by it); `probabilities` holds every
    class's probability for multiclass rows (NULL otherwise)."""
    table = pq.inputs_table(model_name)
    has_inputs = store.has_table(table)
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])} if has_inputs else set()
    chosen = [s for s in segments if s in present]
    segment_sql = "".join(f", CAST(i.{pq.column_name(s)} AS VARCHAR) AS {pq.column_name(s)}" for s in chosen)
    segment_sql += ', i.request_id IS NOT NULL AS "(inputs kept)"' if chosen else ""  # an import may keep a sample
    join = f"LEFT JOIN {table} i USING (request_id, row_index)" if chosen else ""
    at = pq.time_expression(period.axis)
    columns, rows = store.table_params(
        f"SELECT p.request_id, p.logged_at, {at} AS \"(at)\", p.version, p.prediction, p.score, p.probabilities, "
        f"f.label, f.label_value, f.received_at, p.audit_sample"
        f"{segment_sql} FROM prediction_log p LEFT JOIN feedback f USING (request_id, row_index, model_name) {join} "
        f"WHERE p.model_name = ? AND p.route <> 'shadow' AND {at} >= ? AND {at} < ? ORDER BY \"(at)\", p.logged_at",
        [model_name, period.start, period.end])
    return pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
