"""SQL of monitoring runs, observations, alerts, streaks and mutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def insert_monitor_run(store: Store, row: dict[str, Any]) -> int:
    return int(store.scalar(
        "INSERT INTO monitor_runs (model_name, version, window_start, window_end, drift_run_id, computed_at, "
        "trigger, axis) VALUES ($model_name, $version, $window_start, $window_end, $drift_run_id, $computed_at, "
        "$trigger, $axis) "
        "RETURNING run_id", row))


def insert_observations(store: Store, rows: list[tuple[Any, ...]]) -> None:
    """Rows: (run_id, model_name, window_end, source, metric, subject, value)."""
    if rows:
        store.append_rows("monitor_observations", None, rows)


def streak(store: Store, rule: str, model_name: str, subject: str) -> int:
    found = store.scalar("SELECT breaches FROM alert_streaks WHERE rule = ? AND model_name = ? AND subject = ?",
                         [rule, model_name, subject])
    return int(found or 0)


def set_streak(store: Store, rule: str, model_name: str, subject: str, breaches: int, at: datetime) -> None:
    store.execute("INSERT OR REPLACE INTO alert_streaks VALUES (?, ?, ?, ?, ?)", [rule, model_name, subject, breaches, at])


def open_alert(store: Store, rule: str, model_name: str, subject: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM alerts WHERE rule = ? AND model_name = ? AND subject = ? AND status = 'open'",
                     [rule, model_name, subject])


def insert_alert(store: Store, row: dict[str, Any]) -> dict[str, Any]:
    found = store.row(
        "INSERT INTO alerts (rule, model_name, subject, metric, severity, status, value, threshold, windows, message, "
        "opened_at, last_seen_at, resolved_at, muted, incident_id, owner) VALUES ($rule, $model_name, $subject, "
        "$metric, $severity, 'open', $value, $threshold, $windows, $message, $at, $at, NULL, $muted, NULL, $owner) "
        "RETURNING *", {"owner": None, **row})
    assert found is not None
    return found


def touch_alert(store: Store, alert_id: int, value: float | None, at: datetime) -> None:
    store.execute("UPDATE alerts SET value = ?, last_seen_at = ? WHERE alert_id = ?", [value, at, alert_id])


def resolve_alert(store: Store, alert_id: int, at: datetime) -> dict[str, Any]:
    found = store.row("UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE alert_id = ? RETURNING *",
                      [at, alert_id])
    assert found is not None
    return found


def link_incident(store: Store, alert_id: int, incident_id: int) -> None:
    store.execute("UPDATE alerts SET incident_id = ? WHERE alert_id = ?", [incident_id, alert_id])


def list_alerts(store: Store, *, include_resolved: bool, model_name: str | None) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT * FROM alerts WHERE (? OR status = 'open') AND (? IS NULL OR model_name = ?) "
        "ORDER BY status = 'open' DESC, severity = 'critical' DESC, opened_at DESC LIMIT 500",
        [include_resolved, model_name, model_name])


def open_critical(store: Store, model_name: str) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM alerts WHERE model_name = ? AND status = 'open' AND severity = 'critical' "
                      "AND NOT muted ORDER BY opened_at", [model_name])


def active_mute(store: Store, rule: str, model_name: str, at: datetime) -> dict[str, Any] | None:
    return store.row("SELECT * FROM alert_mutes WHERE rule = ? AND model_name IN (?, '*') AND until > ? "
                     "ORDER BY until DESC LIMIT 1", [rule, model_name, at])


def insert_mute(store: Store, row: dict[str, Any]) -> None:
    store.execute("INSERT INTO alert_mutes VALUES ($rule, $model_name, $until, $muted_by, $muted_at, $reason)", row)


def list_mutes(store: Store, at: datetime) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM alert_mutes WHERE until > ? ORDER BY until", [at])


def recent_drift_verdicts(store: Store, model_name: str, limit: int) -> list[str | None]:
    """Drift verdicts of the model's latest monitor runs of current traffic, newest first (None: no drift
    computed); checks of a past period (trigger 'past') are not part of a streak."""
    return [r[0] for r in store.execute(
        "SELECT d.verdict FROM monitor_runs m LEFT JOIN drift_runs d ON d.run_id = m.drift_run_id "
        "WHERE m.model_name = ? AND m.trigger <> 'past' ORDER BY m.run_id DESC LIMIT ?", [model_name, limit])]


def alerts_of_incident(store: Store, incident_id: int) -> list[dict[str, Any]]:
    """The alerts an incident gathered, oldest first."""
    return store.rows("SELECT alert_id, rule, metric, subject, severity, status, value, message, opened_at, resolved_at "
                      "FROM alerts WHERE incident_id = ? ORDER BY opened_at", [incident_id])


def models_with_open_alerts(store: Store, metrics: list[str]) -> list[str]:
    """The models with an open alert on any of `metrics`."""
    return [str(r[0]) for r in store.execute(
        "SELECT DISTINCT model_name FROM alerts WHERE status = 'open' AND list_contains(?, metric) ORDER BY 1",
        [metrics])]
