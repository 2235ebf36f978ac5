"""Incidents: opened by critical alerts, one open incident per model, with a timeline.

A critical, unmuted alert opens an incident for its model, or joins the one already open. The
timeline records alerts opening and resolving, deployments (alias moves) and retrains while it is
open, acknowledgements, notes and the resolution. Incidents are resolved by a person, never
automatically: the alerts clearing is evidence, not a conclusion. MTTR is the mean time from opening
to resolution over resolved incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.alerts.evaluation import AlertChange
from appliance.clock import utc_now
from appliance.errors import AlertError, NotFound
from appliance.store import alert_queries as aq
from appliance.store import incident_queries as iq
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def escalate(store: Store, changes: list[AlertChange], at: datetime) -> list[int]:
    """Open or join incidents for the critical alerts that opened; note resolved ones. Returns the
    incidents that were opened."""
    opened: list[int] = []
    for change in changes:
        alert = change.alert
        if change.kind == "opened" and alert["severity"] == "critical" and not alert["muted"]:
            existing = iq.open_incident(store, alert["model_name"])
            if existing is None:
                incident_id = iq.insert_incident(store, alert["model_name"], alert["message"], at, alert.get("owner"))
                owner = f"; owner {alert['owner']}" if alert.get("owner") else "; the model has no owner"
                iq.add_event(store, incident_id, at, "opened", "vigil", f"opened by alert {alert['alert_id']}{owner}")
                q.insert_audit(store, at, "vigil", "incident.open", alert["model_name"], None,
                               {"incident_id": incident_id, "alert_id": alert["alert_id"]},
                               subject=f"incident:{incident_id}", after={"status": "open"},
                               reason=f"critical alert {alert['rule']}: {alert['message']}")
                opened.append(incident_id)
            else:
                incident_id = int(existing["incident_id"])
            aq.link_incident(store, int(alert["alert_id"]), incident_id)
            iq.add_event(store, incident_id, at, "alert", "vigil",
                         f"[{alert['severity']}] {alert['rule']}: {alert['message']}")
        elif change.kind == "resolved" and alert.get("incident_id") is not None:
            iq.add_event(store, int(alert["incident_id"]), at, "alert_resolved", "vigil",
                         f"{alert['rule']} on {alert['subject']} cleared")
    return opened


def record_for_model(store: Store, model_name: str, kind: str, actor: str, detail: str) -> None:
    """Add an event (deployment, rollback, retrain) to the model's open incidents, if any."""
    for incident_id in iq.open_incidents_of(store, model_name):
        iq.add_event(store, incident_id, utc_now(), kind, actor, detail)


def _require(store: Store, incident_id: int) -> dict[str, Any]:
    found = iq.incident(store, incident_id)
    if found is None:
        raise NotFound(f"no incident {incident_id}; list them with `vigil incidents --all`")
    return found


def acknowledge(store: Store, incident_id: int, actor: str) -> dict[str, Any]:
    with store.transaction():
        found = _require(store, incident_id)
        if found["status"] == "resolved":
            raise AlertError(f"incident {incident_id} is already resolved")
        if found["status"] == "open":
            now = utc_now()
            iq.acknowledge(store, incident_id, actor, now)
            iq.add_event(store, incident_id, now, "acknowledged", actor, "acknowledged")
            q.insert_audit(store, now, actor, "incident.acknowledge", found["model_name"], None,
                           {"incident_id": incident_id}, subject=f"incident:{incident_id}",
                           before={"status": "open"}, after={"status": "acknowledged"})
    return show(store, incident_id)


def note(store: Store, incident_id: int, actor: str, text: str) -> dict[str, Any]:
    if not text.strip():
        raise AlertError("a note needs text")
    with store.transaction():
        found = _require(store, incident_id)
        now = utc_now()
        iq.add_event(store, incident_id, now, "note", actor, text.strip())
        q.insert_audit(store, now, actor, "incident.note", found["model_name"], None,
                       {"incident_id": incident_id, "note": text.strip()}, subject=f"incident:{incident_id}",
                       after={"note": text.strip()})
    return show(store, incident_id)


def resolve(store: Store, incident_id: int, actor: str, resolution: str) -> dict[str, Any]:
    if not resolution.strip():
        raise AlertError("resolving needs --resolution TEXT: what fixed it")
    with store.transaction():
        found = _require(store, incident_id)
        if found["status"] == "resolved":
            raise AlertError(f"incident {incident_id} is already resolved")
        now = utc_now()
        iq.resolve(store, incident_id, actor, now, resolution.strip())
        iq.add_event(store, incident_id, now, "resolved", actor, resolution.strip())
        q.insert_audit(store, now, actor, "incident.resolve", found["model_name"], None,
                       {"incident_id": incident_id, "resolution": resolution.strip()},
                       subject=f"incident:{incident_id}", before={"status": found["status"]},
                       after={"status": "resolved"}, reason=resolution.strip())
    return show(store, incident_id)


def show(store: Store, incident_id: int) -> dict[str, Any]:
    found = _require(store, incident_id)
    alerts = aq.alerts_of_incident(store, incident_id)
    return {**found, "timeline": iq.events(store, incident_id), "alerts": alerts,
            "minutes_open": _minutes(found["opened_at"], found["resolved_at"] or utc_now())}


def list_incidents(store: Store, include_resolved: bool) -> dict[str, Any]:
    return {"incidents": iq.list_incidents(store, include_resolved=include_resolved),
            "mttr": iq.mttr_minutes(store, None)}


def postmortem(store: Store, incident_id: int) -> str:
    """A Markdown postmortem drafted from the incident's record and timeline."""
    data = show(store, incident_id)
    lines = [f"# Postmortem: incident {incident_id} — {data['model_name']}", "",
             f"- **Title:** {data['title']}",
             f"- **Status:** {data['status']}",
             f"- **Owner:** {data.get('owner') or 'none (name one under [owners.models] in vigil.toml)'}",
             f"- **Opened:** {data['opened_at']:%Y-%m-%d %H:%M:%S} UTC"]
    if data["acknowledged_at"]:
        lines.append(f"- **Acknowledged:** {data['acknowledged_at']:%Y-%m-%d %H:%M:%S} UTC by "
                     f"{data['acknowledged_by']} ({_minutes(data['opened_at'], data['acknowledged_at']):.1f} min "
                     "after opening)")
    if data["resolved_at"]:
        lines.append(f"- **Resolved:** {data['resolved_at']:%Y-%m-%d %H:%M:%S} UTC by {data['resolved_by']} "
                     f"(time to resolve {data['minutes_open']:.1f} min)")
        lines.append(f"- **Resolution:** {data['resolution']}")
    lines += ["", "## Alerts", "", "| alert | rule | subject | severity | opened | resolved |",
              "|---:|---|---|---|---|---|"]
    for a in data["alerts"]:
        resolved = f"{a['resolved_at']:%Y-%m-%d %H:%M}" if a["resolved_at"] else "open"
        lines.append(f"| {a['alert_id']} | {a['rule']} | {a['subject']} | {a['severity']} | "
                     f"{a['opened_at']:%Y-%m-%d %H:%M} | {resolved} |")
    lines += ["", "## Timeline (UTC)", ""]
    lines += [f"- {e['at_time']:%Y-%m-%d %H:%M:%S} — **{e['kind']}** ({e['actor']}): {e['detail']}"
              for e in data["timeline"]]
    lines += ["", "## Impact", "", "_Who and what was affected, for how long._", "",
              "## Root cause", "", "_Why it happened._", "", "## Follow-ups", "", "- _Action, owner, date._", ""]
    return "\n".join(lines)


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60.0
