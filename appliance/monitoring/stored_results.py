"""What the checks stored for a model, read back without running anything: the latest drift run (each
feature's values, verdict and the thresholds that judged it) and the latest monitor run's drift,
quality, outcome, estimate and system observations. Reading is a viewer's right; running a check
that stores results is an operator's."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.monitoring.drift_history import drift_history
from appliance.registry.versions import require_model
from appliance.store import calibration_queries as calq
from appliance.store import result_queries as rq


def stored_results(ctx: AppContext, model_name: str) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    drift = drift_history(ctx, model_name)
    if drift["run"] is not None:
        judged = {r["feature"]: r for r in calq.run_thresholds(ctx.store, int(drift["run"]["run_id"]))}
        drift["features"] = [{**f, "thresholds": _thresholds(judged.get(f["feature"]))} for f in drift["features"]]
    runs = rq.latest_monitor_runs(ctx.store, model_name, 1)
    monitor = None
    if runs:
        observed: dict[str, list[dict[str, Any]]] = {}
        for o in rq.run_observations(ctx.store, int(runs[0]["run_id"])):
            observed.setdefault(o["source"], []).append({k: o[k] for k in ("metric", "subject", "value")})
        monitor = {"run": runs[0], "observations": observed}
    return {"model": model_name, "drift": {k: drift[k] for k in ("run", "features", "segments")},
            "monitor": monitor}


def _thresholds(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None  # a run stored before thresholds were recorded
    return {k: row[k] for k in ("judged_by", "method", "psi_warning", "psi_critical", "js_warning", "js_critical")}
