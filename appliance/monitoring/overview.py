"""What the on-call console shows first: each model's aliases, traffic, latency, errors, drift and
alerts over the last hour, with a requests-per-minute series for a sparkline, its owner, and the error
budget of its objective with the least left (monitoring/slo.py).

It reads the rollups (docs/monitoring.md, "Dashboards") and the raw log only after their watermark,
so it costs the same on a store with ten million logged predictions as on an empty one. The budgets
read the rollups of the objectives' windows (about 30 ms a model at ten million requests,
docs/benchmarks.md), so each model's is kept for BUDGET_TTL_S and shared by every console: the rollups
they read move once a minute anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from appliance.alerts.owners import owner_label
from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.monitoring.slo import model_slos
from appliance.store import console_queries as cq
from appliance.store import registry_queries as q
from appliance.store import rollup_queries as rq

MINUTES = 60
RATE_MINUTES = 5
BUDGET_TTL_S = 30.0
log = logging.getLogger(__name__)

_budgets: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
_budgets_lock = threading.Lock()


def overview(ctx: AppContext) -> dict[str, Any]:
    now = utc_now()
    end_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end_minute - timedelta(minutes=MINUTES)
    upto = rq.watermark(ctx.store)
    alerts = cq.open_alert_counts(ctx.store)
    models = []
    for model in q.list_models(ctx.store):
        name = model["name"]
        per_minute = [0] * MINUTES
        for row in rq.requests_per_minute(ctx.store, name, start, now, upto):
            index = int((row["minute"] - start).total_seconds() // 60)
            if 0 <= index < MINUTES:
                per_minute[index] += int(row["requests"])
        answered = sum(per_minute)
        recent = sum(per_minute[-RATE_MINUTES:])
        elapsed = (now - (end_minute - timedelta(minutes=RATE_MINUTES))).total_seconds()
        rejected = cq.rejected_count(ctx.store, name, start, now)
        aliases = cq.alias_rows(ctx.store, name)
        champion = next((a["version"] for a in aliases if a["alias"] == "champion"), None)
        latency = {r["version"]: r for r in rq.latency_percentiles(ctx.store, name, start, now, upto)}
        worst = rq.worst_drift(ctx.store, name, 1)
        models.append({
            "name": name, "task": model["task"], "versions": model["versions"], "aliases": aliases,
            "requests_per_s": recent / max(elapsed, 1.0), "requests_last_hour": answered,
            "p95_ms": latency[champion]["p95_ms"] if champion in latency else None,
            "error_rate": rejected / (answered + rejected) if answered + rejected else 0.0,
            "rejected_last_hour": rejected,
            "worst_drift": worst[0] if worst else None,
            "open_alerts": alerts.get(name, {}),
            "requests_per_minute": per_minute,
            "owner": owner_label(ctx.config, name),
            "budget": _budget(ctx, name, now),
        })
    return {"at": now, "window_minutes": MINUTES, "models": models}


def _budget(ctx: AppContext, name: str, now: datetime) -> dict[str, Any] | None:
    """The model's least budget left, computed at most every BUDGET_TTL_S for a home."""
    key = (str(ctx.home.root), name)
    with _budgets_lock:
        found = _budgets.get(key)
    if found is not None and time.monotonic() - found[0] < BUDGET_TTL_S:
        return found[1]
    try:
        budget = least_budget(model_slos(ctx, name, now)["objectives"])
    except Exception:  # one model's objectives failing never blanks the console's first screen
        log.exception("the budgets of model %s could not be computed", name)
        budget = None
    with _budgets_lock:
        _budgets[key] = (time.monotonic(), budget)
    return budget


def least_budget(objectives: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The objective with the least error budget left (None when no objective measured enough yet: a
    handful of events makes any ratio, as the alerts know)."""
    measured = [o for o in objectives if o["budget_left"] is not None and o["total"] >= o["min_events"]]
    if not measured:
        return None
    worst = min(measured, key=lambda o: o["budget_left"])
    return {"objective": worst["objective"], "budget_left": worst["budget_left"],
            "exhausted_in": worst["exhausted_in"].total_seconds() if worst["exhausted_in"] is not None else None}
