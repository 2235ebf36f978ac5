"""SQL of the service level objectives: request counts per window from the rollups (and the raw log after
their watermark), and the monitoring checks a quality objective counts.

Every window ends at the same moment, so one scan of the longest window answers all of them: each row
falls in one band between consecutive window starts, and a window sums its bands.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appliance.store.connection import Store
from appliance.store.rollup_queries import BUCKET_SQL, REQUESTS_SQL, WATERMARK

HOURS_WATERMARK = "latency_hours"
HOUR = timedelta(hours=1)

SERVER_ERROR = 500  # a refused request with this status or above is the service's failure, not the client's
FAILURES_SQL = f"""
    SELECT model_name, date_trunc('minute', received_at) AS minute,
           count(*) FILTER (WHERE status >= {SERVER_ERROR}) AS server_errors,
           count(*) FILTER (WHERE status < {SERVER_ERROR}) AS client_errors
    FROM rejected_requests WHERE model_name IS NOT NULL AND received_at >= ? AND received_at < ? {{model}}
    GROUP BY ALL
"""


def roll_up_failures(store: Store, start: datetime, end: datetime) -> None:
    """Fold [start, end) of rejected_requests into failure_rollups (called with the prediction log's rollup)."""
    store.execute(f"INSERT INTO failure_rollups {FAILURES_SQL.format(model='')}", [start, end])


def compact_hours(store: Store) -> int:
    """Fold the complete hours of the minute latency histogram into latency_hour_rollups (every hour before
    the minute rollups' watermark, once); returns the hours folded."""
    upto = store.scalar("SELECT upto FROM rollup_watermarks WHERE name = ?", [WATERMARK])
    if not isinstance(upto, datetime):
        return 0
    target = _floor_hour(upto)
    done = store.scalar("SELECT upto FROM rollup_watermarks WHERE name = ?", [HOURS_WATERMARK])
    if not isinstance(done, datetime):
        first = store.scalar("SELECT min(minute) FROM latency_rollups")
        done = _floor_hour(first) if isinstance(first, datetime) else target
    if done >= target:
        return 0
    store.execute("""INSERT INTO latency_hour_rollups
        SELECT model_name, version, date_trunc('hour', minute) AS hour, bucket, sum(requests) FROM latency_rollups
        WHERE minute >= ? AND minute < ? GROUP BY ALL ORDER BY hour""", [done, target])
    store.execute("INSERT OR REPLACE INTO rollup_watermarks VALUES (?, ?)", [HOURS_WATERMARK, target])
    return int((target - done) / HOUR)


def _floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def hours_watermark(store: Store) -> datetime | None:
    found = store.scalar("SELECT upto FROM rollup_watermarks WHERE name = ?", [HOURS_WATERMARK])
    return found if isinstance(found, datetime) else None


def split_hours(start: datetime, end: datetime, hours_upto: datetime | None,
                cuts: list[datetime]) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """[start, end) cut into (ranges read from the hourly histogram, ranges read from the minute one): whole
    hours before `hours_upto` that no window start in `cuts` falls inside, and everything else."""
    hours: list[tuple[datetime, datetime]] = []
    hour = _floor_hour(start) + (HOUR if _floor_hour(start) < start else timedelta(0))
    last = min(_floor_hour(end), hours_upto or start)
    while hour + HOUR <= last:
        if not any(hour < cut < hour + HOUR for cut in cuts):
            if hours and hours[-1][1] == hour:
                hours[-1] = (hours[-1][0], hour + HOUR)
            else:
                hours.append((hour, hour + HOUR))
        hour += HOUR
    minutes, at = [], start
    for lo, hi in hours:
        if at < lo:
            minutes.append((at, lo))
        at = hi
    if at < end:
        minutes.append((at, end))
    return hours, minutes


def first_rejected_at(store: Store) -> datetime | None:
    first = store.scalar("SELECT min(received_at) FROM rejected_requests")
    return first if isinstance(first, datetime) else None


def request_counts(store: Store, model_name: str, starts: list[datetime], end: datetime, fast_bucket: int,
                   upto: datetime | None) -> list[dict[str, int]]:
    """Per window [start, end): answered requests, server errors and fast requests (latency bucket at most
    `fast_bucket`); rollups before the watermark `upto`, raw rows after it. Each row is counted once, in the
    band between two consecutive window starts; a window's count is the sum of its bands."""
    ordered = sorted(set(starts))
    n = len(ordered)
    band = "CASE " + " ".join(f"WHEN minute >= ${i} THEN {i}" for i in range(n, 0, -1)) + " ELSE 0 END"
    events, params = _events(store, model_name, ordered[0], end, fast_bucket, upto, ordered, n)
    rows = store.execute(f"WITH events AS ({events}) SELECT {band} AS band, sum(answered), sum(failed), sum(fast) "
                         "FROM events GROUP BY band", [*ordered, *params])
    bands = {int(b): (int(a or 0), int(f or 0), int(q or 0)) for b, a, f, q in rows}
    totals: dict[datetime, tuple[int, int, int]] = {}
    later = (0, 0, 0)
    for index in range(n, 0, -1):  # a window holds its own band and every later one
        own = bands.get(index, (0, 0, 0))
        later = (own[0] + later[0], own[1] + later[1], own[2] + later[2])
        totals[ordered[index - 1]] = later
    return [dict(zip(("answered", "failed", "fast"), totals[start])) for start in starts]


def hourly_counts(store: Store, model_name: str, start: datetime, end: datetime, fast_bucket: int,
                  upto: datetime | None) -> list[dict[str, Any]]:
    """Answered requests, server errors and fast requests per hour of [start, end), oldest first (hours
    without any are left out): what a chart of the error budget over time sums."""
    events, params = _events(store, model_name, start, end, fast_bucket, upto, [], 0)
    return store.rows(f"""WITH events AS ({events})
        SELECT date_trunc('hour', minute) AS hour, sum(answered)::BIGINT AS answered, sum(failed)::BIGINT AS failed,
               sum(fast)::BIGINT AS fast
        FROM events GROUP BY hour ORDER BY hour""", params)


def _events(store: Store, model_name: str, start: datetime, end: datetime, fast_bucket: int,
            upto: datetime | None, cuts: list[datetime], offset: int) -> tuple[str, list[Any]]:
    """The request events of [start, end) as rows (minute, answered, failed, fast) and their parameters,
    numbered after the `offset` parameters the caller puts first: the rollups before the watermark `upto`
    (the hourly latency histogram for whole hours no time in `cuts` falls inside), the raw tables after it."""
    split = max(start, min(upto or start, end))
    raw = REQUESTS_SQL.format(model="AND model_name = ?")
    failures = FAILURES_SQL.format(model="AND model_name = ?")
    model, lo, mid, hi, bucket = (f"${offset + k}" for k in range(1, 6))
    hours, minutes = split_hours(start, split, hours_watermark(store), cuts)
    ranges = [at for pair in hours + minutes for at in pair]
    latency = _latency_sql(len(hours), len(minutes), offset + 6, model, bucket)
    sql = f"""
            SELECT minute, requests AS answered, 0 AS failed, 0 AS fast FROM request_rollups
            WHERE model_name = {model} AND minute >= {lo} AND minute < {mid}
            UNION ALL
            {latency}
            UNION ALL
            SELECT minute, 0, server_errors, 0 FROM failure_rollups
            WHERE model_name = {model} AND minute >= {lo} AND minute < {mid}
            UNION ALL
            SELECT minute, 1, 0, CASE WHEN {BUCKET_SQL} <= {bucket} THEN 1 ELSE 0 END
            FROM ({_positional(raw, mid, hi, model)})
            UNION ALL
            SELECT minute, 0, server_errors, 0 FROM ({_positional(failures, mid, hi, model)})"""
    return sql, [model_name, start, split, end, fast_bucket, *ranges]


def _latency_sql(hours: int, minutes: int, first: int, model: str, bucket: str) -> str:
    """Fast requests of the rolled-up part: one select per range (numbered parameters from `first`: the hour
    ranges' bounds, then the minute ranges'), so each reads only its own stretch of the time-ordered table."""
    parts = [f"SELECT hour AS minute, 0, 0, requests FROM latency_hour_rollups WHERE model_name = {model} "
             f"AND bucket <= {bucket} AND hour >= ${first + 2 * i} AND hour < ${first + 2 * i + 1}"
             for i in range(hours)]
    parts += [f"SELECT minute, 0, 0, requests FROM latency_rollups WHERE model_name = {model} "
              f"AND bucket <= {bucket} AND minute >= ${first + 2 * (hours + i)} AND minute < ${first + 2 * (hours + i) + 1}"
              for i in range(minutes)]
    return "\n            UNION ALL\n            ".join(parts or [f"SELECT NULL::TIMESTAMP, 0, 0, 0 WHERE {model} IS NULL AND {bucket} IS NULL"])


def _positional(sql: str, start: str, end: str, model: str) -> str:
    """A query written with `?` for (start, end, model) rewritten to the numbered parameters given."""
    for name in (start, end, model):
        sql = sql.replace("?", name, 1)
    return sql


def checks(store: Store, model_name: str, start: datetime, end: datetime, metric: str) -> list[dict[str, Any]]:
    """The model's monitoring checks whose window ended in [start, end), oldest first, each with its trigger, drift
    verdict, realized and estimated `metric`, and label coverage (None where the check had none). Checks
    of a past period (`vigil monitor run --from/--to`) are not the present's and are left out."""
    return store.rows("""
        SELECT r.run_id, r.window_end, r.trigger, any_value(d.verdict) AS drift_verdict,
               max(o.value) FILTER (WHERE o.metric = $metric AND o.subject = '(model)') AS realized,
               max(o.value) FILTER (WHERE o.metric = 'estimated_' || $metric AND o.subject = '(model)') AS estimated,
               max(o.value) FILTER (WHERE o.metric = 'label_coverage_due' AND o.subject = '(model)') AS label_coverage
        FROM monitor_runs r
        LEFT JOIN drift_runs d ON d.run_id = r.drift_run_id
        LEFT JOIN monitor_observations o ON o.run_id = r.run_id
            AND o.metric IN ($metric, 'estimated_' || $metric, 'label_coverage_due')
        WHERE r.model_name = $model AND r.trigger <> 'past' AND r.window_end >= $start AND r.window_end < $end
        GROUP BY r.run_id, r.window_end, r.trigger ORDER BY r.window_end, r.run_id""",
        {"metric": metric, "model": model_name, "start": start, "end": end})


def add_server_errors(store: Store, rows: list[tuple[str, datetime, int]]) -> None:
    """Server errors counted outside `rejected_requests` (requests refused unkept under load), per model and
    minute, added to `failure_rollups`; a minute not rolled up yet counts once the watermark passes it."""
    store.append_rows("failure_rollups", None, [(model, minute, n, 0) for model, minute, n in rows])
