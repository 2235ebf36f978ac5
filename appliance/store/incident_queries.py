"""SQL of incidents and their timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def open_incident(store: Store, model_name: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM incidents WHERE model_name = ? AND status <> 'resolved' "
                     "ORDER BY opened_at DESC LIMIT 1", [model_name])


def insert_incident(store: Store, model_name: str, title: str, at: datetime, owner: str | None = None) -> int:
    return int(store.scalar(
        "INSERT INTO incidents (model_name, title, status, opened_at, owner) VALUES (?, ?, 'open', ?, ?) "
        "RETURNING incident_id", [model_name, title, at, owner]))


def incident(store: Store, incident_id: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM incidents WHERE incident_id = ?", [incident_id])


def list_incidents(store: Store, *, include_resolved: bool) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM incidents WHERE ? OR status <> 'resolved' ORDER BY opened_at DESC LIMIT 500",
                      [include_resolved])


def add_event(store: Store, incident_id: int, at: datetime, kind: str, actor: str, detail: str) -> None:
    store.execute("INSERT INTO incident_events VALUES (?, ?, ?, ?, ?)", [incident_id, at, kind, actor, detail])


def events(store: Store, incident_id: int) -> list[dict[str, Any]]:
    return store.rows("SELECT at_time, kind, actor, detail FROM incident_events WHERE incident_id = ? "
                      "ORDER BY at_time, rowid", [incident_id])


def acknowledge(store: Store, incident_id: int, actor: str, at: datetime) -> None:
    store.execute("UPDATE incidents SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? "
                  "WHERE incident_id = ?", [at, actor, incident_id])


def resolve(store: Store, incident_id: int, actor: str, at: datetime, resolution: str) -> None:
    store.execute("UPDATE incidents SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution = ? "
                  "WHERE incident_id = ?", [at, actor, resolution, incident_id])


def open_incidents_of(store: Store, model_name: str) -> list[int]:
    return [int(r[0]) for r in store.execute(
        "SELECT incident_id FROM incidents WHERE model_name = ? AND status <> 'resolved'", [model_name])]


def mttr_minutes(store: Store, model_name: str | None) -> dict[str, Any]:
    row = store.row(
        "SELECT count(*) AS resolved, avg(date_diff('second', opened_at, resolved_at)) / 60.0 AS mttr_minutes, "
        "median(date_diff('second', opened_at, resolved_at)) / 60.0 AS median_minutes FROM incidents "
        "WHERE status = 'resolved' AND (? IS NULL OR model_name = ?)", [model_name, model_name])
    return row or {"resolved": 0, "mttr_minutes": None, "median_minutes": None}


def open_critical_count(store: Store, model_name: str) -> int:
    """How many of the model's unresolved incidents hold a critical alert."""
    return int(store.scalar(
        "SELECT count(DISTINCT i.incident_id) FROM incidents i JOIN alerts a USING (incident_id) "
        "WHERE i.model_name = ? AND i.status <> 'resolved' AND a.severity = 'critical'", [model_name]) or 0)


def opening_drift_run(store: Store, model_name: str, at: datetime) -> dict[str, Any] | None:
    """The drift run of the model's latest monitor check at or before `at` (the check whose alerts
    opened an incident at `at` is that one)."""
    return store.row(
        "SELECT d.* FROM monitor_runs m JOIN drift_runs d ON d.run_id = m.drift_run_id "
        "WHERE m.model_name = ? AND m.computed_at <= ? ORDER BY m.computed_at DESC, m.run_id DESC LIMIT 1",
        [model_name, at])


def alias_moves_since(store: Store, model_name: str, since: datetime) -> list[dict[str, Any]]:
    """Every alias change of the model from `since` on, oldest first: which alias, from and to which
    version, who, when, why, and whether it was a rollback."""
    return store.rows(
        "SELECT id, alias, from_version, to_version, actor, changed_at, reason, kind FROM deployments "
        "WHERE model_name = ? AND changed_at >= ? ORDER BY id", [model_name, since])
