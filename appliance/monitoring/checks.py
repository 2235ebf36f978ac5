"""One monitoring check of a model over a period: drift, data quality, outcomes and system health,
stored as observations, judged by the alert rules, escalated to incidents.

This is what the scheduled monitor job runs (and `vigil monitor run NAME` on demand, over the last
window or any past period). Drift, quality and outcomes select rows on the period's axis (event or
arrival time); system health (requests/s, errors, latency) is always by arrival time. Every value a
rule can test is stored in `monitor_observations`, so what an alert saw can be queried later. Parts
without data are skipped, not failed: no traffic means no drift, no labels mean no outcome metrics.
A check with `alerting=False` (a past period) stores its observations but applies no alert rule, so
checking last year never pages today.
"""

from __future__ import annotations

from typing import Any

from appliance.alerts.evaluation import AlertChange, Observation, evaluate
from appliance.alerts.incidents import escalate
from appliance.alerts.owners import owner_label
from appliance.alerts.rules import AlertRule
from appliance.clock import utc_now
from appliance.core.periods import Period
from appliance.home.context import AppContext
from appliance.errors import MonitoringError, RegistryError
from appliance.monitoring.check_impact import cost_text, note_cost
from appliance.monitoring.label_feed import label_feed
from appliance.monitoring.model_drift import check_model_drift
from appliance.monitoring.outcomes import outcome_report
from appliance.monitoring.quality import quality_report
from appliance.registry.versions import require_model
from appliance.store import alert_queries as aq
from appliance.store import quality_queries as qq
from appliance.store import registry_queries as q


def run_check(ctx: AppContext, model_name: str, *, period: Period, trigger: str, actor: str,
              rules: list[AlertRule], alerting: bool = True) -> tuple[dict[str, Any], list[AlertChange]]:
    """(summary, alert changes to route once committed). Without `alerting` the observations are stored
    and no rule is evaluated (no alert changes)."""
    require_model(ctx.store, model_name)
    start, end = period.start, period.end
    champion = q.aliases(ctx.store, model_name).get("champion")
    observations: list[Observation] = []
    drift_run_id = None
    skipped: dict[str, str] = {}
    found: dict[str, Any] = {}  # what the chunk table of a past period shows
    if champion is not None:
        try:
            drift = check_model_drift(ctx, model_name, period, version=None, actor=actor)
            drift_run_id = int(drift["run_id"])
            observations += _drift(drift)
            found.update(_worst(drift))
        except (MonitoringError, RegistryError) as e:
            skipped["drift"] = str(e)
        quality = quality_report(ctx, model_name, period)
        observations += _quality(quality)
        found["quality_problems"] = len(quality["problems"])
        try:  # performance estimated without labels (CBPE, DLE): source "estimates"
            from appliance.monitoring.estimation_uses import estimate_observations

            observations += estimate_observations(ctx, model_name, period, actor)
        except (MonitoringError, RegistryError) as e:
            skipped["estimates"] = str(e)
    else:
        skipped["drift"] = skipped["quality"] = "no champion"
    outcomes = outcome_report(ctx, model_name, period, None)
    observations += _outcomes(outcomes)
    found["current_rows"] = outcomes["overall"]["answered"]
    found["outcomes"] = outcomes["overall"]
    observations += _system(qq.window_system(ctx.store, model_name, start, end), start, end)
    now = utc_now()
    if alerting:  # the label feed as it is now (monitoring/label_feed.py), not as it was in a past period
        observations += label_feed(ctx.store, ctx.config.monitoring.bands_for(model_name), model_name, now)
    changes: list[AlertChange] = []
    incidents: list[int] = []
    with ctx.store.transaction():
        run_id = aq.insert_monitor_run(ctx.store, dict(model_name=model_name, version=champion, window_start=start,
                                                       window_end=end, drift_run_id=drift_run_id, computed_at=now,
                                                       trigger=trigger, axis=period.axis))
        aq.insert_observations(ctx.store, [(run_id, model_name, end, o.source, o.metric, o.subject, o.value)
                                           for o in observations])
        if alerting:
            changes = evaluate(ctx.store, rules, model_name, observations, now,
                               owner_label(ctx.config, model_name))
            incidents = escalate(ctx.store, changes, now)
            if incidents:  # the cost of what opened them (not worked out for a check that opened none)
                note_cost(ctx, incidents, cost_text(ctx, model_name, champion, observations,
                                                    int(found.get("current_rows") or 0)), now)
    summary = {"run_id": run_id, "model": model_name, "version": champion, "window_start": start,
               "window_end": end, "axis": period.axis, "alerting": alerting, "drift_run_id": drift_run_id,
               "observations": len(observations), "skipped": skipped, "incidents_opened": incidents, **found,
               "alerts": [{"change": c.kind, "alert_id": c.alert["alert_id"], "rule": c.alert["rule"],
                           "subject": c.alert["subject"], "severity": c.alert["severity"],
                           "muted": c.alert["muted"], "message": c.alert["message"]} for c in changes]}
    return summary, changes


def _worst(drift: dict[str, Any]) -> dict[str, Any]:
    """The drift run's verdict and the feature (or output) with the largest PSI."""
    scored = [(d["psi"], name) for name, d in drift["features"].items() if d.get("psi") is not None]
    psi, name = max(scored) if scored else (None, None)
    return {"drift_verdict": drift["verdict"], "worst_feature": name, "worst_psi": psi}


def _drift(drift: dict[str, Any]) -> list[Observation]:
    found = []
    for name, d in drift["features"].items():
        psi_bounds, js_bounds = _calibrated_bounds(d.get("thresholds"))
        found += [Observation("drift", "psi", name, d["psi"], psi_bounds),
                  Observation("drift", "js", name, d["js"], js_bounds)]
        if d.get("unseen_share") is not None:
            found.append(Observation("drift", "unseen_share", name, d["unseen_share"]))
        if d.get("missing_ref") is not None and d.get("missing_cur") is not None:
            found.append(Observation("drift", "missing_increase", name, d["missing_cur"] - d["missing_ref"]))
        if d.get("mean_shift") is not None:  # a multiclass version: a class's mean probability, window - reference
            found.append(Observation("drift", "mean_shift", name, d["mean_shift"]))
    multivariate = drift.get("multivariate") or {}
    for metric in ("reconstruction_error", "reconstruction_sigmas"):  # None when inconclusive: not observed
        if multivariate.get(metric) is not None:
            found.append(Observation("drift", metric, "(multivariate)", multivariate[metric]))
    return found


def _calibrated_bounds(thresholds: dict[str, Any] | None) -> tuple[tuple[float, float] | None,
                                                                   tuple[float, float] | None]:
    """A feature's calibrated (warning, critical) PSI and JS thresholds, for the rules marked `calibrated`;
    (None, None) when the fixed bands judged it."""
    if not thresholds or thresholds.get("judged_by") != "calibrated":
        return None, None
    return ((thresholds["psi_warning"], thresholds["psi_critical"]),
            (thresholds["js_warning"], thresholds["js_critical"]))


def _quality(report: dict[str, Any]) -> list[Observation]:
    found = [Observation("quality", "missing_rate", name, rate) for name, rate in report["missing_rates"].items()]
    requests = report["volume"]["requests"]
    rejected = sum(report["rejected"].values())
    if requests + rejected:
        found.append(Observation("quality", "rejected_share", "(model)", rejected / (requests + rejected)))
    rows = report["volume"]["rows"]
    if rows:  # answered rows carrying at least one flag, of all answered rows: in [0, 1]
        found.append(Observation("quality", "flagged_share", "(model)", report["volume"]["flagged_rows"] / rows))
    usual = report["volume"]["usual_requests"]
    if usual:
        found.append(Observation("quality", "volume_ratio", "(model)", requests / usual))
    return found


def _outcomes(report: dict[str, Any]) -> list[Observation]:
    overall = report["overall"]
    found = []
    if overall.get("coverage") is not None:
        found.append(Observation("outcomes", "label_coverage", "(model)", overall["coverage"]))
    for metric, value in (overall.get("metrics") or {}).items():
        if value is not None:
            found.append(Observation("outcomes", metric, "(model)", float(value)))
    return found


def _system(system: dict[str, Any], start: Any, end: Any) -> list[Observation]:
    total = system["requests"] + system["rejected"]
    if not total:
        return []
    seconds = max((end - start).total_seconds(), 1.0)
    found = [Observation("system", "requests_per_s", "(model)", system["requests"] / seconds),
             Observation("system", "error_rate", "(model)", system["rejected"] / total)]
    if system["p99_latency_ms"] is not None:
        found.append(Observation("system", "p99_latency_ms", "(model)", float(system["p99_latency_ms"])))
    return found
