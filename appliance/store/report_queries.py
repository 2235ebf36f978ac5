"""SQL of the HTML reports: traffic and latency per time bucket, the window's alerts, incidents and
releases, and the `reports` table of reports written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appliance.store.connection import Store
from appliance.store.rollup_queries import BUCKET_SQL, PERCENTILES_SQL, REQUESTS_SQL


def traffic(store: Store, model_name: str, start: datetime, end: datetime, upto: datetime | None,
            step: timedelta) -> list[dict[str, Any]]:
    """Requests, rows and latency p50/p95/p99 (ms, from the 2% histogram) per `step`-long bucket (aligned to
    whole steps: hours, days) of [start, end): rollups before the watermark, raw rows after it. Buckets
    without traffic are absent."""
    split = max(start, min(upto or start, end))
    raw = REQUESTS_SQL.format(model="AND model_name = ?")
    seconds = int(step.total_seconds())
    slot = f"time_bucket(to_seconds({seconds}::BIGINT), minute)"
    return store.rows(f"""
        WITH minutes AS (
            SELECT minute, requests, rows, NULL::SMALLINT AS bucket FROM request_rollups
            WHERE model_name = ? AND minute >= ? AND minute < ?
            UNION ALL
            SELECT minute, requests, 0 AS rows, bucket FROM latency_rollups
            WHERE model_name = ? AND minute >= ? AND minute < ?
            UNION ALL
            SELECT minute, 1 AS requests, rows, NULL FROM ({raw})
            UNION ALL
            SELECT minute, 1 AS requests, 0, {BUCKET_SQL} FROM ({raw})
        ), slotted AS (
            SELECT {slot} AS slot, * FROM minutes
        ), totals AS (
            SELECT slot, sum(requests) FILTER (WHERE bucket IS NULL) AS requests, sum(rows) AS rows
            FROM slotted GROUP BY slot
        ), histogram AS (
            SELECT slot, bucket, sum(requests) AS n FROM slotted WHERE bucket IS NOT NULL GROUP BY ALL
        ), cumulative AS (
            SELECT slot, bucket, sum(n) OVER (PARTITION BY slot ORDER BY bucket) AS running,
                   sum(n) OVER (PARTITION BY slot) AS total FROM histogram
        ), percentiles AS (
            SELECT slot, {PERCENTILES_SQL} FROM cumulative GROUP BY slot
        )
        SELECT t.slot AS start, t.requests, t.rows, p.p50_ms, p.p95_ms, p.p99_ms
        FROM totals t LEFT JOIN percentiles p USING (slot) ORDER BY t.slot""",
        [model_name, start, split, model_name, start, split, split, end, model_name, split, end, model_name])


def traffic_extent(store: Store, model_name: str, start: datetime, end: datetime,
                   upto: datetime | None) -> tuple[datetime, datetime] | None:
    """The first and the last minute of [start, end) with a request (rollups before the watermark, raw
    rows after it), or None when no request came."""
    split = max(start, min(upto or start, end))
    raw = REQUESTS_SQL.format(model="AND model_name = ?")
    found = store.row(f"""
        SELECT min(minute) AS first, max(minute) AS last FROM (
            SELECT minute FROM request_rollups
            WHERE model_name = ? AND minute >= ? AND minute < ? AND requests > 0
            UNION ALL
            SELECT minute FROM ({raw}))""", [model_name, start, split, split, end, model_name])
    if found is None or found["first"] is None:
        return None
    return found["first"], found["last"]


def answered_rows(store: Store, model_name: str, version: int, start: datetime, end: datetime) -> int:
    """Rows the version answered in [start, end) (shadow rows excluded)."""
    return int(store.scalar("SELECT count(*) FROM prediction_log WHERE model_name = ? AND version = ? "
                            "AND route <> 'shadow' AND logged_at >= ? AND logged_at < ?",
                            [model_name, version, start, end]))


def alerts_in(store: Store, model_name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Alerts open at any time in [start, end), with the owner each named when it opened."""
    return store.rows("""
        SELECT alert_id, rule, subject, metric, severity, status, value, threshold, message, opened_at, resolved_at,
               incident_id, owner
        FROM alerts WHERE model_name = ? AND opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)
        ORDER BY opened_at""", [model_name, end, start])


def incidents_in(store: Store, model_name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Incidents open at any time in [start, end), with their time to resolve, the owner when they opened, and
    the estimated cost of what opened them (their `impact` events)."""
    return store.rows("""
        SELECT incident_id, title, status, opened_at, acknowledged_by, resolved_at, resolved_by,
               epoch(resolved_at - opened_at) / 60.0 AS minutes_to_resolve, owner,
               (SELECT string_agg(detail, '; ' ORDER BY at_time) FROM incident_events e
                WHERE e.incident_id = i.incident_id AND e.kind = 'impact') AS impact
        FROM incidents i WHERE model_name = ? AND opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)
        ORDER BY opened_at""", [model_name, end, start])


def releases_in(store: Store, model_name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Promotion requests (with their decision) and alias moves in [start, end)."""
    return store.rows("""
        SELECT happened_at, kind, version, alias, actor, status, decided_by, decision, reason, gates
        FROM version_releases WHERE model_name = ? AND happened_at >= ? AND happened_at < ?
        ORDER BY happened_at""", [model_name, start, end])


def insert_report(store: Store, row: dict[str, Any]) -> int:
    return int(store.scalar(
        "INSERT INTO reports (model_name, version, window_start, window_end, path, bytes, sha256, trigger, "
        "created_at, created_by) VALUES ($model_name, $version, $window_start, $window_end, $path, $bytes, $sha256, "
        "$trigger, $created_at, $created_by) RETURNING report_id", row))


def list_reports(store: Store, model_name: str | None, limit: int) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM reports WHERE (? IS NULL OR model_name = ?) ORDER BY report_id DESC LIMIT ?",
                      [model_name, model_name, limit])


def champion_models(store: Store) -> list[str]:
    """The models that have a champion, by name: those the scheduled report covers."""
    return [m for m, in store.execute("SELECT DISTINCT model_name FROM aliases WHERE alias = 'champion' "
                                      "ORDER BY model_name")]
