"""Canary analysis: once a canary has run `canary.min_seconds` and answered `canary.min_requests`,
compare it with the champion over the same period, then act by policy.

Checks: server-error rate (canary minus champion, from the daemon's counters), per-request latency
p95 ratio, PSI of the canary's scores against the champion's, and — when both have 30+ labels — the
outcome metric (ROC AUC drop, or MAE rise for regression). A check with nothing to compare (no
champion traffic in the period) is inconclusive, and so is the verdict: it never passes. A pass asks
for promotion to champion (`canary.on_pass = "promote"`) through the release door — a promotion
request with the analysis as evidence, which an approver other than the canary's requester approves
when the release rules ask for it — unless a critical alert is open for the model: the request then
waits, and says why. A failure removes the canary (`canary.on_fail = "rollback"`), opens a critical
`canary-rollback` alert (which opens or joins the model's incident) and puts the rollback on the
incident's timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from appliance.alerts.evaluation import AlertChange
from appliance.alerts.gates import promotion_paused
from appliance.alerts.incidents import escalate
from appliance.clock import utc_now
from appliance.context import AppContext
from appliance.monitoring.drift import numeric_drift
from appliance.release.canary import graduate, withdraw
from appliance.store import alert_queries as aq
from appliance.store import registry_queries as q

MIN_LABELS = 30


def analyse(ctx: AppContext, model_name: str, errors: tuple[tuple[int, int], tuple[int, int]] | None = None,
            now: datetime | None = None) -> dict[str, Any] | None:
    """The canary's verdict (None without a canary). `errors`: ((answered, 5xx) canary, same champion)."""
    aliases = q.aliases(ctx.store, model_name)
    canary, champion = aliases.get("canary"), aliases.get("champion")
    if canary is None or champion is None:
        return None
    policy = ctx.config.canary.policy_for(model_name)
    now = now or utc_now()
    since = ctx.store.scalar("SELECT max(changed_at) FROM deployments WHERE model_name = ? AND alias = 'canary' "
                             "AND to_version = ?", [model_name, canary])
    base = {"model": model_name, "canary": canary, "champion": champion, "since": since}
    rows = ctx.store.rows(
        "SELECT version, request_id, any_value(latency_ms) AS latency_ms, list(score) AS scores, "
        "list(prediction) AS predictions FROM prediction_log WHERE model_name = ? AND route IN ('champion', 'canary') "
        "AND logged_at >= ? AND logged_at < ? AND version IN (?, ?) GROUP BY version, request_id",
        [model_name, since, now, canary, champion])
    by_version = {v: [r for r in rows if r["version"] == v] for v in (canary, champion)}
    if (now - since).total_seconds() < policy.min_seconds or len(by_version[canary]) < policy.min_requests:
        return {**base, "status": "waiting", "canary_requests": len(by_version[canary]), "checks": []}
    checks = [_latency(by_version, canary, champion, policy.max_latency_p95_ratio),
              _scores(by_version, canary, champion, policy.max_score_psi)]
    if errors is not None:
        (c_ok, c_err), (h_ok, h_err) = errors
        increase = c_err / max(c_ok + c_err, 1) - h_err / max(h_ok + h_err, 1)
        checks.append({"check": "error_rate_increase", "value": increase, "limit": policy.max_error_rate_increase,
                       "ok": increase <= policy.max_error_rate_increase})
    outcome = _outcome(ctx, model_name, canary, champion, since, now, policy.max_metric_drop)
    if outcome is not None:
        checks.append(outcome)
    return {**base, "status": _status(checks), "canary_requests": len(by_version[canary]), "checks": checks}


def _status(checks: list[dict[str, Any]]) -> str:
    """failed if any check failed; inconclusive if any had nothing to compare; else passed."""
    if any(c["ok"] is not None and not c["ok"] for c in checks):
        return "failed"
    return "inconclusive" if any(c["ok"] is None for c in checks) else "passed"


def act(ctx: AppContext, verdict: dict[str, Any]) -> tuple[dict[str, Any], list[AlertChange]]:
    """Promote, roll back or report, by policy; returns (what was done, alert changes to route)."""
    model = verdict["model"]
    policy = ctx.config.canary.policy_for(model)
    failed = ", ".join(f"{c['check']} {c['value']:.4g} (limit {c['limit']:g})" for c in verdict["checks"]
                       if c["ok"] is not None and not c["ok"])
    if verdict["status"] == "passed" and policy.on_pass == "promote":
        paused = promotion_paused(ctx.store, model)
        if paused:
            return {**verdict, "action": "promotion paused", "why": paused}, []
        return {**verdict, **graduate(ctx, verdict)}, []
    if verdict["status"] == "failed" and policy.on_fail == "rollback":
        now = utc_now()
        with ctx.store.transaction():
            alert = aq.insert_alert(ctx.store, dict(
                rule="canary-rollback", model_name=model, subject=f"v{verdict['canary']}", metric="canary",
                severity="critical", value=None, threshold=0.0, windows=1, muted=False, at=now,
                message=f"{model}: canary v{verdict['canary']} failed its analysis ({failed}); rolled back"))
            changes = [AlertChange("opened", alert)]
            escalate(ctx.store, changes, now)
        withdraw(ctx, model, f"canary analysis failed: {failed}")
        return {**verdict, "action": "rolled back"}, changes
    return {**verdict, "action": "reported"}, []


def _latency(by_version: dict[int, list[dict[str, Any]]], canary: int, champion: int, limit: float) -> dict[str, Any]:
    p95 = {v: float(np.percentile([r["latency_ms"] for r in rows], 95)) if rows else None
           for v, rows in by_version.items()}
    ours, theirs = p95[canary], p95[champion]
    if ours is None or not theirs:
        return {"check": "latency_p95_ratio", "value": None, "limit": limit, "ok": None,
                "note": "inconclusive: no champion traffic to compare with", "canary_p95_ms": ours,
                "champion_p95_ms": theirs}
    ratio = ours / theirs
    return {"check": "latency_p95_ratio", "value": ratio, "limit": limit, "ok": ratio <= limit,
            "canary_p95_ms": ours, "champion_p95_ms": theirs}


def _scores(by_version: dict[int, list[dict[str, Any]]], canary: int, champion: int, limit: float) -> dict[str, Any]:
    def values(v: int) -> np.ndarray:
        found = [s if s is not None else p for r in by_version[v] for s, p in zip(r["scores"], r["predictions"])]
        return np.asarray(found, dtype=np.float64)

    if not len(values(champion)):
        return {"check": "score_psi", "value": None, "limit": limit, "ok": None,
                "note": "inconclusive: no champion traffic to compare with"}
    psi = numeric_drift(values(champion), values(canary)).psi
    return {"check": "score_psi", "value": psi, "limit": limit, "ok": psi <= limit}


def _outcome(ctx: AppContext, model: str, canary: int, champion: int, since: datetime, now: datetime,
             limit: float) -> dict[str, Any] | None:
    from appliance.monitoring.outcomes import metrics_of_versions

    found = metrics_of_versions(ctx, model, [canary, champion], since, now, MIN_LABELS)
    if canary not in found or champion not in found:
        return None
    key = "roc_auc" if "roc_auc" in found[canary] else "mae"
    ours, theirs = found[canary].get(key), found[champion].get(key)
    if ours is None or theirs is None:
        return None
    drop = theirs - ours if key == "roc_auc" else ours - theirs
    return {"check": f"{key}_drop" if key == "roc_auc" else "mae_rise", "value": drop, "limit": limit,
            "ok": drop <= limit}
