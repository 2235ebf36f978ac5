"""SQL of data-quality checks over a window of the prediction log, its inputs and rejected requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.core.periods import Period
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store
from appliance.store.slo_queries import SERVER_ERROR


def missing_rates(store: Store, model_name: str, features: list[str], period: Period) -> dict[str, float]:
    table = pq.inputs_table(model_name)
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}
    chosen = [f for f in features if f in present]
    if not chosen:
        return {}
    parts = ", ".join(f"avg(({pq.column_name(f)} IS NULL)::INT)" for f in chosen)
    row = store.execute(
        f"SELECT {parts} FROM prediction_log p JOIN {table} i USING (request_id, row_index) "
        f"WHERE p.model_name = ? AND p.route <> 'shadow' AND {_within(period)}",
        [model_name, period.start, period.end])[0]
    return {f: float(v) for f, v in zip(chosen, row) if v is not None}


def _within(period: Period, alias: str = "p") -> str:
    """The SQL condition: a log row's time on the period's axis is in [?, ?)."""
    at = pq.time_expression(period.axis, alias)
    return f"{at} >= ? AND {at} < ?"


def flag_counts(store: Store, model_name: str, period: Period) -> dict[str, int]:
    """Answered rows per flag, e.g. {'unknown_category:dest': 9, 'out_of_range:temp': 3}."""
    rows = store.execute(
        "SELECT flag, count(*) FROM (SELECT unnest(p.flags) AS flag FROM prediction_log p "
        f"WHERE p.model_name = ? AND p.route <> 'shadow' AND {_within(period)}) GROUP BY flag ORDER BY 2 DESC",
        [model_name, period.start, period.end])
    return {flag: int(count) for flag, count in rows}


def rejections(store: Store, model_name: str, start: datetime, end: datetime) -> dict[str, int]:
    """Requests the client got wrong, per reason, in [start, end) of arrival time (a refused request has no
    event time); the service's own failures (5xx, kept beside them) are the availability objective's."""
    rows = store.execute(
        "SELECT reason, count(*) FROM rejected_requests WHERE model_name = ? AND received_at >= ? "
        f"AND received_at < ? AND status < {SERVER_ERROR} GROUP BY reason ORDER BY 2 DESC", [model_name, start, end])
    return {reason: int(count) for reason, count in rows}


def volume(store: Store, model_name: str, period: Period) -> dict[str, Any]:
    """Requests in the period, the rows they answered and how many of those rows carry a flag, and the mean
    requests for the same span at the same time of day on the 7 days before (all on the period's axis)."""
    at = pq.time_expression(period.axis)
    count, rows, flagged = store.execute(
        "SELECT count(DISTINCT p.request_id), count(*), count(*) FILTER (WHERE coalesce(len(p.flags), 0) > 0) "
        f"FROM prediction_log p WHERE p.model_name = ? AND p.route <> 'shadow' AND {_within(period)}",
        [model_name, period.start, period.end])[0]
    usual = store.scalar(
        "SELECT avg(n) FROM (SELECT d, (SELECT count(DISTINCT p.request_id) FROM prediction_log p "
        f"WHERE p.model_name = ? AND p.route <> 'shadow' AND {at} >= ?::TIMESTAMP - d * INTERVAL 1 DAY "
        f"AND {at} < ?::TIMESTAMP - d * INTERVAL 1 DAY) AS n FROM range(1, 8) t(d))",
        [model_name, period.start, period.end])
    return {"requests": int(count), "rows": int(rows), "flagged_rows": int(flagged),
            "usual_requests": float(usual) if usual is not None else None}


def per_minute(store: Store, model_name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per minute and version: requests, rows, latency percentiles (per request), and rejections."""
    return store.rows(
        """
        WITH requests AS (
            SELECT date_trunc('minute', any_value(logged_at)) AS minute, version, request_id,
                   count(*) AS rows, any_value(latency_ms) AS latency_ms
            FROM prediction_log
            WHERE model_name = ? AND route <> 'shadow' AND logged_at >= ? AND logged_at < ?
            GROUP BY version, request_id
        ), answered AS (
            SELECT minute, version, count(*) AS requests, sum(rows) AS rows,
                   quantile_cont(latency_ms, 0.5) AS p50_ms, quantile_cont(latency_ms, 0.95) AS p95_ms,
                   quantile_cont(latency_ms, 0.99) AS p99_ms
            FROM requests GROUP BY minute, version
        ), refused AS (
            SELECT date_trunc('minute', received_at) AS minute, count(*) AS rejected
            FROM rejected_requests WHERE model_name = ? AND received_at >= ? AND received_at < ? GROUP BY 1
        )
        SELECT coalesce(a.minute, r.minute) AS minute, a.version, coalesce(a.requests, 0) AS requests,
               coalesce(a.rows, 0) AS rows, a.p50_ms, a.p95_ms, a.p99_ms, coalesce(r.rejected, 0) AS rejected
        FROM answered a FULL JOIN refused r USING (minute)
        ORDER BY minute, version
        """,
        [model_name, start, end, model_name, start, end])


def window_system(store: Store, model_name: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Answered requests, their per-request p99 latency, and rejected requests in [start, end)."""
    row = store.row(
        "WITH r AS (SELECT request_id, any_value(latency_ms) AS latency_ms FROM prediction_log "
        "WHERE model_name = ? AND route <> 'shadow' AND logged_at >= ? AND logged_at < ? GROUP BY request_id) "
        "SELECT count(*) AS requests, quantile_cont(latency_ms, 0.99) AS p99_latency_ms FROM r",
        [model_name, start, end]) or {}
    rejected = store.scalar("SELECT count(*) FROM rejected_requests WHERE model_name = ? AND received_at >= ? "
                            f"AND received_at < ? AND status < {SERVER_ERROR}",  # 5xx: not the client's
                            [model_name, start, end])
    return {"requests": int(row.get("requests") or 0), "p99_latency_ms": row.get("p99_latency_ms"),
            "rejected": int(rejected or 0)}
