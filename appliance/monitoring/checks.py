"""One monitoring check of a model over a window: drift, data quality, outcomes and system health,
stored as observations, judged by the alert rules, escalated to incidents.

This is what the scheduled monitor job runs (and `vigil monitor run NAME` on demand). Every value a
rule can test is stored in `monitor_observations`, so what an alert saw can be queried later. Parts
without data are skipped, not failed: no traffic means no drift, no labels mean no outcome metrics.
"""

from __future__ import annotations

from typing import Any

from appliance.alerts.evaluation import AlertChange, Observation, evaluate
from appliance.alerts.incidents import escalate
from appliance.alerts.rules import AlertRule
from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.errors import MonitoringError, RegistryError
from appliance.monitoring.model_drift import check_model_drift
from appliance.monitoring.outcomes import outcome_report
from appliance.monitoring.quality import quality_report
from appliance.core.windows import parse_window
from appliance.registry.versions import require_model
from appliance.store import alert_queries as aq
from appliance.store import quality_queries as qq
from appliance.store import registry_queries as q


def run_check(ctx: AppContext, model_name: str, *, window: str, trigger: str, actor: str,
              rules: list[AlertRule]) -> tuple[dict[str, Any], list[AlertChange]]:
    """(summary, alert changes to route once committed)."""
    require_model(ctx.store, model_name)
    end = utc_now()
    start = end - parse_window(window)
    champion = q.aliases(ctx.store, model_name).get("champion")
    observations: list[Observation] = []
    drift_run_id = None
    skipped: dict[str, str] = {}
    if champion is not None:
        try:
            drift = check_model_drift(ctx, model_name, window, version=None, actor=actor)
            drift_run_id = int(drift["run_id"])
            observations += _drift(drift)
        except (MonitoringError, RegistryError) as e:
            skipped["drift"] = str(e)
        observations += _quality(quality_report(ctx, model_name, window))
    else:
        skipped["drift"] = skipped["quality"] = "no champion"
    observations += _outcomes(outcome_report(ctx, model_name, window, window))
    observations += _system(qq.window_system(ctx.store, model_name, start, end), start, end)
    with ctx.store.transaction():
        run_id = aq.insert_monitor_run(ctx.store, dict(model_name=model_name, version=champion, window_start=start,
                                                       window_end=end, drift_run_id=drift_run_id, computed_at=end,
                                                       trigger=trigger))
        aq.insert_observations(ctx.store, [(run_id, model_name, end, o.source, o.metric, o.subject, o.value)
                                           for o in observations])
        changes = evaluate(ctx.store, rules, model_name, observations, end)
        incidents = escalate(ctx.store, changes, end)
    summary = {"run_id": run_id, "model": model_name, "version": champion, "window_start": start,
               "window_end": end, "drift_run_id": drift_run_id, "observations": len(observations),
               "skipped": skipped, "incidents_opened": incidents,
               "alerts": [{"change": c.kind, "alert_id": c.alert["alert_id"], "rule": c.alert["rule"],
                           "subject": c.alert["subject"], "severity": c.alert["severity"],
                           "muted": c.alert["muted"], "message": c.alert["message"]} for c in changes]}
    return summary, changes


def _drift(drift: dict[str, Any]) -> list[Observation]:
    found = []
    for name, d in drift["features"].items():
        found += [Observation("drift", "psi", name, d["psi"]), Observation("drift", "js", name, d["js"])]
        if d.get("unseen_share") is not None:
            found.append(Observation("drift", "unseen_share", name, d["unseen_share"]))
        if d.get("missing_ref") is not None and d.get("missing_cur") is not None:
            found.append(Observation("drift", "missing_increase", name, d["missing_cur"] - d["missing_ref"]))
        if d.get("mean_shift") is not None:  # a multiclass version: a class's mean probability, window - reference
            found.append(Observation("drift", "mean_shift", name, d["mean_shift"]))
    return found


def _quality(report: dict[str, Any]) -> list[Observation]:
    found = [Observation("quality", "missing_rate", name, rate) for name, rate in report["missing_rates"].items()]
    requests = report["volume"]["requests"]
    rejected = sum(report["rejected"].values())
    if requests + rejected:
        found.append(Observation("quality", "rejected_share", "(model)", rejected / (requests + rejected)))
    if requests:
        found.append(Observation("quality", "flagged_share", "(model)", sum(report["flags"].values()) / requests))
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
