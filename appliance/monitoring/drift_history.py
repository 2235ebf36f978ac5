"""A model's drift as the console shows it: the latest run per feature and segment, and each
feature's PSI over recent runs (read from `drift_results`; nothing is recomputed)."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.registry.versions import require_model
from appliance.store import console_queries as cq

TREND_RUNS = 30


def drift_history(ctx: AppContext, model_name: str) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    run = cq.latest_drift_run(ctx.store, model_name)
    if run is None:
        return {"model": model_name, "run": None, "features": [], "segments": [], "trends": {}}
    rows = cq.drift_features(ctx.store, int(run["run_id"]))
    return {"model": model_name, "run": run,
            "features": [r for r in rows if r["segment_column"] is None],
            "segments": [r for r in rows if r["segment_column"] is not None],
            "trends": cq.psi_trends(ctx.store, model_name, TREND_RUNS)}
