"""SQL of the prediction-log rollups and the dashboard queries that read them."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from appliance.store.connection import Store

BASE_MS = 0.01
GROWTH = 1.02
WATERMARK = "prediction_log"
# bucket of a latency (ms): the smallest b with BASE * GROWTH^b >= latency
BUCKET_SQL = f"greatest(0, ceil(ln(greatest(latency_ms, {BASE_MS}) / {BASE_MS}) / ln({GROWTH})))::SMALLINT"
# p50/p95/p99 (ms) from a cumulative histogram: the upper edge of the first bucket past each share
PERCENTILES_SQL = ", ".join(f"{BASE_MS} * pow({GROWTH}, min(bucket) FILTER (WHERE running >= {share} * total)) AS p{name}_ms"
                            for share, name in ((0.50, 50), (0.95, 95), (0.99, 99)))
REQUESTS_SQL = """
    SELECT request_id, any_value(model_name) AS model_name, any_value(version) AS version,
           date_trunc('minute', min(logged_at)) AS minute, count(*) AS rows, any_value(latency_ms) AS latency_ms
    FROM prediction_log WHERE route <> 'shadow' AND logged_at >= ? AND logged_at < ? {model} GROUP BY request_id
"""


def bucket_upper_ms(bucket: int) -> float:
    return BASE_MS * GROWTH ** bucket


def watermark(store: Store) -> datetime | None:
    found = store.scalar("SELECT upto FROM rollup_watermarks WHERE name = ?", [WATERMARK])
    return found if isinstance(found, datetime) else None


def first_logged_at(store: Store) -> datetime | None:
    """When the oldest logged prediction was logged (None for an empty log): where rolling up starts."""
    first = store.scalar("SELECT min(logged_at) FROM prediction_log")
    return first if isinstance(first, datetime) else None


def roll_up(store: Store, start: datetime, end: datetime) -> int:
    """Roll up [start, end) (whole minutes) and move the watermark to `end`; returns requests rolled up."""
    requests = REQUESTS_SQL.format(model="")
    store.execute(f"""INSERT INTO request_rollups
        SELECT model_name, version, minute, count(*), sum(rows), sum(latency_ms) FROM ({requests}) GROUP BY ALL""",
                  [start, end])
    store.execute(f"""INSERT INTO latency_rollups
        SELECT model_name, version, minute, {BUCKET_SQL} AS bucket, count(*) FROM ({requests}) GROUP BY ALL
        ORDER BY minute""",  # stored in time order, so a query over a few minutes skips the rest
                  [start, end])
    store.execute("INSERT OR REPLACE INTO rollup_watermarks VALUES (?, ?)", [WATERMARK, end])
    return int(store.scalar("SELECT coalesce(sum(requests), 0) FROM request_rollups WHERE minute >= ? AND minute < ?",
                            [start, end]))


def latency_percentiles(store: Store, model_name: str, start: datetime, end: datetime,
                        upto: datetime | None) -> list[dict[str, Any]]:
    """p50/p95/p99 per version over [start, end): rollups before the watermark, raw rows after it."""
    split = max(start, min(upto or start, end))
    raw = REQUESTS_SQL.format(model="AND model_name = ?")
    return store.rows(f"""
        WITH buckets AS (
            SELECT version, bucket, sum(requests) AS n FROM (
                SELECT version, bucket, requests FROM latency_rollups
                WHERE model_name = ? AND minute >= ? AND minute < ?
                UNION ALL
                SELECT version, {BUCKET_SQL} AS bucket, 1 AS requests FROM ({raw})
            ) GROUP BY ALL
        ), cumulative AS (
            SELECT version, bucket, sum(n) OVER (PARTITION BY version ORDER BY bucket) AS running,
                   sum(n) OVER (PARTITION BY version) AS total FROM buckets
        )
        SELECT version, any_value(total) AS requests,
               {PERCENTILES_SQL}
        FROM cumulative GROUP BY version ORDER BY version""",
        [model_name, start, split, split, end, model_name])


def requests_per_minute(store: Store, model_name: str, start: datetime, end: datetime,
                        upto: datetime | None) -> list[dict[str, Any]]:
    split = max(start, min(upto or start, end))
    raw = REQUESTS_SQL.format(model="AND model_name = ?")
    return store.rows(f"""
        SELECT minute, version, sum(requests) AS requests, sum(rows) AS rows FROM (
            SELECT minute, version, requests, rows FROM request_rollups
            WHERE model_name = ? AND minute >= ? AND minute < ?
            UNION ALL
            SELECT minute, version, count(*) AS requests, sum(rows) AS rows FROM ({raw}) GROUP BY ALL
        ) GROUP BY ALL ORDER BY minute, version""", [model_name, start, split, split, end, model_name])


def worst_drift(store: Store, model_name: str, limit: int) -> list[dict[str, Any]]:
    """The features that drift most in the model's latest drift run (whole window, not segments)."""
    return store.rows("""
        SELECT r.feature, r.value AS psi, r.verdict, d.run_id, d.window_end, d.version
        FROM drift_runs d JOIN drift_results r USING (run_id)
        WHERE d.run_id = (SELECT max(run_id) FROM drift_runs WHERE model_name = ?)
          AND r.metric = 'psi' AND r.segment_column IS NULL
        ORDER BY r.value DESC LIMIT ?""", [model_name, limit])


def exact_bucket(latency_ms: float) -> int:
    """The bucket SQL assigns (for tests and readers)."""
    return max(0, math.ceil(math.log(max(latency_ms, BASE_MS) / BASE_MS) / math.log(GROWTH)))
