"""Two versions' performance estimated over the same period, compared on the primary metric: what the
canary analysis and the release gate judge before any label exists."""

from __future__ import annotations

from typing import Any

from appliance.core.periods import Period
from appliance.errors import MonitoringError, RegistryError
from appliance.estimation.performance import PRIMARY, estimate_performance
from appliance.home.context import AppContext

MIN_ROWS = 100  # fewer scored rows than this in a period: no comparison between versions


def compare_versions(ctx: AppContext, model_name: str, candidate: int, champion: int, period: Period,
                     margin: float) -> dict[str, Any]:
    """The candidate's primary estimate against the champion's over the same period: `worse_by` is the
    estimated ROC AUC drop, or (regression) the estimated MAE's rise as a share of the champion's; `ok` is
    None when either version scored too few rows or cannot be estimated."""
    estimates: dict[int, dict[str, Any]] = {}
    for version in (candidate, champion):
        try:
            result = estimate_performance(ctx, model_name, period, version=version, keep=False)
        except (MonitoringError, RegistryError) as e:
            return _inconclusive(candidate, champion, margin, str(e))
        if result["rows"] < MIN_ROWS:
            return _inconclusive(candidate, champion, margin,
                                 f"v{version} scored {result['rows']} rows in the period (fewer than {MIN_ROWS})")
        primary = next(e for e in result["chunks"][0]["estimates"] if e["metric"] == result["primary"])
        estimates[version] = {**primary, "rows": result["rows"], "task": result["task"]}
    ours, theirs = estimates[candidate], estimates[champion]
    if ours["estimate"] is None or theirs["estimate"] is None:
        return _inconclusive(candidate, champion, margin, "an estimate is undefined on this period")
    regression = PRIMARY[ours["task"]] == "mae"
    worse_by = ((ours["estimate"] - theirs["estimate"]) / theirs["estimate"] if theirs["estimate"] else 0.0) \
        if regression else theirs["estimate"] - ours["estimate"]
    return {"metric": f"estimated_{PRIMARY[ours['task']]}", "worse_by": worse_by, "margin": margin,
            "ok": worse_by <= margin, "candidate": ours, "champion": theirs,
            "measure": "relative rise of estimated MAE" if regression else "drop of estimated ROC AUC"}


def _inconclusive(candidate: int, champion: int, margin: float, why: str) -> dict[str, Any]:
    return {"metric": None, "worse_by": None, "margin": margin, "ok": None, "note": why,
            "candidate": {"version": candidate}, "champion": {"version": champion}}
