"""SQL behind the on-call console (`vigil tui`): per-model health, drift history, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def alias_rows(store: Store, model_name: str) -> list[dict[str, Any]]:
    return store.rows("SELECT alias, version, traffic_percent FROM aliases WHERE model_name = ? ORDER BY alias",
                      [model_name])


def rejected_count(store: Store, model_name: str, start: datetime, end: datetime) -> int:
    return int(store.scalar("SELECT count(*) FROM rejected_requests WHERE model_name = ? AND received_at >= ? "
                            "AND received_at < ?", [model_name, start, end]))


def open_alert_counts(store: Store) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for model_name, severity, n in store.execute(
            "SELECT model_name, severity, count(*) FROM alerts WHERE status = 'open' GROUP BY ALL"):
        counts.setdefault(model_name, {})[severity] = int(n)
    return counts


def latest_drift_run(store: Store, model_name: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM drift_runs WHERE model_name = ? ORDER BY run_id DESC LIMIT 1", [model_name])


def drift_features(store: Store, run_id: int) -> list[dict[str, Any]]:
    """One row per feature and segment of a run: PSI, JS, KS, chi-square, missing rates, verdict."""
    return store.rows(
        """
        SELECT feature, segment_column, segment_value, any_value(verdict) AS verdict,
               max(value) FILTER (WHERE metric = 'psi') AS psi, max(value) FILTER (WHERE metric = 'js') AS js,
               max(value) FILTER (WHERE metric = 'ks_stat') AS ks_stat,
               max(value) FILTER (WHERE metric = 'ks_pvalue') AS ks_pvalue,
               max(value) FILTER (WHERE metric = 'chi2_pvalue') AS chi2_pvalue,
               max(value) FILTER (WHERE metric = 'missing_ref') AS missing_ref,
               max(value) FILTER (WHERE metric = 'missing_cur') AS missing_cur
        FROM drift_results WHERE run_id = ?
        GROUP BY feature, segment_column, segment_value
        ORDER BY segment_column NULLS FIRST, segment_value, psi DESC NULLS LAST, feature
        """, [run_id])


def psi_trends(store: Store, model_name: str, runs: int) -> dict[str, list[float | None]]:
    """Each feature's whole-window PSI over the model's last `runs` drift runs, oldest first."""
    trends: dict[str, list[float | None]] = {}
    rows = store.execute(
        """
        WITH recent AS (SELECT run_id FROM drift_runs WHERE model_name = ? ORDER BY run_id DESC LIMIT ?)
        SELECT r.feature, list(r.value ORDER BY r.run_id)
        FROM drift_results r JOIN recent USING (run_id)
        WHERE r.metric = 'psi' AND r.segment_column IS NULL GROUP BY r.feature
        """, [model_name, runs])
    for feature, values in rows:
        trends[feature] = list(values)
    return trends


def audit_rows(store: Store, text: str, limit: int) -> list[dict[str, Any]]:
    """The latest audit rows, newest first; `text` filters on actor, action, subject, model and reason."""
    pattern = f"%{text.strip()}%"
    return store.rows(
        """
        SELECT id, recorded_at, actor, action, model_name, version, subject, before::VARCHAR AS before,
               after::VARCHAR AS after, coalesce(reason, '') AS reason, details::VARCHAR AS details
        FROM audit_log
        WHERE ? = '%%' OR concat_ws(' ', actor, action, subject, model_name, reason, details::VARCHAR) ILIKE ?
        ORDER BY id DESC LIMIT ?
        """, [pattern, pattern, limit])
