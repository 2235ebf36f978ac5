"""Canary analysis: once a canary has run `canary.min_seconds` and answered `canary.min_requests`,
compare it with the champion over the same period, then act by policy.

Checks: server-error rate (canary minus champion, from the daemon's counters), per-request latency
p95 ratio, PSI of the canary's scores against the champion's, and — when both have 30+ labels — the
outcome metric (ROC AUC drop, MAE rise for regression, accuracy drop for multiclass). For a
multiclass model the score check is two: PSI of the predicted-class distribution (`class_psi`, over
the class names, so two versions may order their classes differently) and the largest PSI of one
class's probability (`probability_psi`, naming that class); both are held to `max_score_psi`. A check with nothing to compare (no
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
from appliance.home.context import AppContext
from appliance.monitoring.drift import categorical_drift, numeric_drift
from appliance.registry.versions import get_version
from appliance.release.canary import graduate, withdraw
from appliance.store import alert_queries as aq
from appliance.store import canary_queries as cq
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
    since = cq.canary_since(ctx.store, model_name, canary)
    base = {"model": model_name, "canary": canary, "champion": champion, "since": since}
    rows = cq.answered(ctx.store, model_name, (canary, champion), since, now)
    by_version = {v: [r for r in rows if r["version"] == v] for v in (canary, champion)}
    if (now - since).total_seconds() < policy.min_seconds or len(by_version[canary]) < policy.min_requests:
        return {**base, "status": "waiting", "canary_requests": len(by_version[canary]), "checks": []}
    checks = [_latency(by_version, canary, champion, policy.max_latency_p95_ratio),
              *_outputs(ctx, model_name, by_version, canary, champion, policy.max_score_psi)]
    if errors is not None:
        (c_ok, c_err), (h_ok, h_err) = errors
        increase = c_err / max(c_ok + c_err, 1) - h_err / max(h_ok + h_err, 1)
        checks.append({"check": "error_rate_increase", "value": increase, "limit": policy.max_error_rate_increase,
                       "ok": increase <= policy.max_error_rate_increase})
    outcome = _outcome(ctx, model_name, canary, champion, since, now, policy.max_metric_drop)
    if outcome is not None:
        checks.append(outcome)
    estimated = _estimated(ctx, model_name, canary, champion, since, now, policy.max_estimated_drop)
    if estimated is not None:
        checks.append(estimated)
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
    failed = ", ".join(f"{c['check']} {c['value']:.4g} (limit {c['limit']:g}{_noise(c)})" for c in verdict["checks"]
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


def _outputs(ctx: AppContext, model_name: str, by_version: dict[int, list[dict[str, Any]]], canary: int,
             champion: int, limit: float) -> list[dict[str, Any]]:
    """The checks of what the versions answered: score PSI, or (multiclass) class and probability PSI."""
    classes: dict[int, list[str]] = {v: list(get_version(ctx.store, model_name, v).get("classes") or [])
                                     for v in (canary, champion)}
    if not classes[canary] or not classes[champion]:
        return [_scores(by_version, canary, champion, limit)]
    answers = {v: _class_answers(by_version[v], classes[v]) for v in (canary, champion)}
    if not answers[champion][0]:
        return [{"check": name, "value": None, "limit": limit, "ok": None,
                 "note": "inconclusive: no champion traffic to compare with"}
                for name in ("class_psi", "probability_psi")]
    return [_class_psi(answers[champion][0], answers[canary][0], limit),
            _probability_psi(answers[champion][1], answers[canary][1], limit)]


def _class_answers(rows: list[dict[str, Any]], classes: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """(the predicted class name of every scored row, each class's probabilities by name)."""
    chosen = [classes[int(p)] for r in rows for p in r["predictions"] if p is not None]
    matrix = [p for r in rows for p in r["probabilities"] if p is not None]
    table = np.asarray(matrix, dtype=np.float64).reshape(len(matrix), len(classes))
    return chosen, {name: table[:, code] for code, name in enumerate(classes)}


def _class_psi(champion: list[str], canary: list[str], limit: float) -> dict[str, Any]:
    drift = categorical_drift(champion, canary)
    shares = {b.label: {"champion": b.reference_share, "canary": b.current_share} for b in drift.top_bins}
    return {"check": "class_psi", "value": drift.psi, "limit": limit, "ok": drift.psi <= limit,
            "chi2_pvalue": drift.chi2_pvalue, "moved": shares}


def _probability_psi(champion: dict[str, np.ndarray], canary: dict[str, np.ndarray],
                     limit: float) -> dict[str, Any]:
    """The largest PSI of one class's probability (classes both versions have, with rows on both)."""
    found = {name: numeric_drift(champion[name], canary[name]).psi for name in champion
             if name in canary and len(champion[name]) and len(canary[name])}
    if not found:
        return {"check": "probability_psi", "value": None, "limit": limit, "ok": None,
                "note": "inconclusive: no class probabilities to compare"}
    worst = max(found, key=found.__getitem__)
    return {"check": "probability_psi", "value": found[worst], "limit": limit, "ok": found[worst] <= limit,
            "class": worst, "per_class": found}


def _scores(by_version: dict[int, list[dict[str, Any]]], canary: int, champion: int, limit: float) -> dict[str, Any]:
    def values(v: int) -> np.ndarray:
        found = [s if s is not None else p for r in by_version[v] for s, p in zip(r["scores"], r["predictions"])]
        return np.asarray(found, dtype=np.float64)

    if not len(values(champion)):
        return {"check": "score_psi", "value": None, "limit": limit, "ok": None,
                "note": "inconclusive: no champion traffic to compare with"}
    psi = numeric_drift(values(champion), values(canary)).psi
    return {"check": "score_psi", "value": psi, "limit": limit, "ok": psi <= limit}


def _estimated(ctx: AppContext, model: str, canary: int, champion: int, since: datetime, now: datetime,
               limit: float) -> dict[str, Any] | None:
    """The canary's performance estimated without labels against the champion's over the canary's period
    (arrival time); None when either cannot be estimated (no holdout, too few rows)."""
    from appliance.core.periods import Period
    from appliance.estimation.comparison import compare_versions

    if now <= since:
        return None
    found = compare_versions(ctx, model, canary, champion, Period(since, now, "arrival"), limit)
    if found["ok"] is None:
        return None
    name = "estimated_mae_rise" if found["metric"] == "estimated_mae" else "estimated_roc_auc_drop"
    return {"check": name, "value": found["worse_by"], "limit": limit, "noise": found["noise"], "ok": found["ok"],
            "canary_estimate": found["candidate"]["estimate"], "champion_estimate": found["champion"]["estimate"],
            "canary_band": [found["candidate"]["lower"], found["candidate"]["upper"]],
            "champion_band": [found["champion"]["lower"], found["champion"]["upper"]]}


def _outcome(ctx: AppContext, model: str, canary: int, champion: int, since: datetime, now: datetime,
             limit: float) -> dict[str, Any] | None:
    from appliance.monitoring.outcomes import metrics_of_versions

    found = metrics_of_versions(ctx, model, [canary, champion], since, now, MIN_LABELS)
    if canary not in found or champion not in found:
        return None
    key = next((k for k in ("roc_auc", "mae", "accuracy") if k in found[canary]), None)
    ours, theirs = (found[canary].get(key), found[champion].get(key)) if key else (None, None)
    if ours is None or theirs is None:
        return None
    drop = ours - theirs if key == "mae" else theirs - ours
    return {"check": "mae_rise" if key == "mae" else f"{key}_drop", "value": drop, "limit": limit,
            "ok": drop <= limit}


def _noise(check: dict[str, Any]) -> str:
    """The sampling noise an estimate-based check allows beyond its limit, as the verdict's words show it."""
    return f" + noise {check['noise']:.3g}" if check.get("noise") else ""
