"""An incident with what an on-call engineer needs around it: its record and timeline, the drift run
whose check opened it (its worst features with verdicts), every alias move of the model from a week
before it opened until now (who, why, rollbacks marked), the current aliases, and a one-line summary
of its critical alerts ("critical drift in humid, dewp") that a rollback's reason starts from.

Everything is read from the store; nothing is recomputed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appliance.alerts.incidents import show
from appliance.alerts.rules import METRICS
from appliance.store import console_queries as cq
from appliance.store import incident_queries as iq
from appliance.store import registry_queries as q
from appliance.store.connection import Store

LOOKBACK = timedelta(days=7)  # alias moves shown from this long before the incident opened
WORST_FEATURES = 8


def incident_view(store: Store, incident_id: int) -> dict[str, Any]:
    """`show`'s incident and timeline, with its summary, opening drift, alias moves and aliases."""
    found = show(store, incident_id)
    model_name = found["model_name"]
    return {**found, "summary": summary(found["alerts"], found["title"]),
            "drift": opening_drift(store, model_name, found["opened_at"]),
            "deployments": iq.alias_moves_since(store, model_name, found["opened_at"] - LOOKBACK),
            "deployments_since": found["opened_at"] - LOOKBACK,
            "aliases": q.aliases(store, model_name)}


def summary(alerts: list[dict[str, Any]], title: str) -> str:
    """What the incident is about in one line: its critical drift alerts' features together
    ("critical drift in humid, dewp"), then its other critical alerts by rule; else its title."""
    critical = [a for a in alerts if a["severity"] == "critical"]
    drifted = _unique(a["subject"] for a in critical if METRICS.get(a["metric"]) == "drift")
    others = _unique(f"{a['rule']} on {a['subject']}" for a in critical if METRICS.get(a["metric"]) != "drift")
    parts = ([f"critical drift in {', '.join(drifted)}"] if drifted else []) + [f"critical {o}" for o in others]
    return "; ".join(parts) or title


def opening_drift(store: Store, model_name: str, at: Any) -> dict[str, Any] | None:
    """The drift run of the check that opened the incident, with its worst whole-window features."""
    run = iq.opening_drift_run(store, model_name, at)
    if run is None:
        return None
    features = [r for r in cq.drift_features(store, int(run["run_id"])) if r["segment_column"] is None]
    features.sort(key=lambda r: -(r["psi"] if r["psi"] is not None else -1.0))
    return {"run": run, "features": [{k: f[k] for k in ("feature", "verdict", "psi", "js", "ks_stat")}
                                     for f in features[:WORST_FEATURES]]}


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))
