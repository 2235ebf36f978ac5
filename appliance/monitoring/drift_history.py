"""A model's drift as the console shows it: the latest run per feature and segment, and each
feature's PSI over recent runs, and the multivariate reconstruction error of the latest run with its
band and its values over recent runs (read from `drift_results`; nothing is recomputed)."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.registry.versions import require_model
from appliance.store import console_queries as cq
from appliance.store import reconstruction_queries as rcq

TREND_RUNS = 30


def drift_history(ctx: AppContext, model_name: str) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    run = cq.latest_drift_run(ctx.store, model_name)
    if run is None:
        return {"model": model_name, "run": None, "features": [], "segments": [], "trends": {},
                "multivariate": None, "multivariate_trend": []}
    rows = cq.drift_features(ctx.store, int(run["run_id"]))
    recent = rcq.recent_results(ctx.store, model_name, TREND_RUNS)
    return {"model": model_name, "run": run,
            "features": [r for r in rows if r["segment_column"] is None and r["feature"] != rcq.MULTIVARIATE],
            "segments": [r for r in rows if r["segment_column"] is not None],
            "trends": cq.psi_trends(ctx.store, model_name, TREND_RUNS),
            "multivariate": next((r for r in recent if r["run_id"] == run["run_id"]), None),
            "multivariate_trend": [r["reconstruction_error"] for r in recent]}
