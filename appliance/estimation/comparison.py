"""Two versions' performance estimated over the same period, compared on the primary metric: what the
canary analysis and the release gate judge before any label exists."""

from __future__ import annotations

import math
from typing import Any

from appliance.core.periods import Period
from appliance.errors import MonitoringError, RegistryError
from appliance.estimation.performance import PRIMARY, estimate_performance
from appliance.home.context import AppContext

MIN_ROWS = 100  # fewer scored rows than this in a period: no comparison between versions
# A candidate is stopped only when it is worse than the margin by more than Z combined sampling errors of the
# two estimates: a few hundred canary rows estimate AUC to a few hundredths, and noise must not stop a release.
Z = 2.0


def compare_versions(ctx: AppContext, model_name: str, candidate: int, champion: int, period: Period,
                     margin: float) -> dict[str, Any]:
    """The candidate's primary estimate against the champion's over the same period: `worse_by` is the
    estimated ROC AUC drop, or (regression) the estimated MAE's rise as a share of the champion's; `noise`
    is Z combined sampling errors on that scale; `ok` is False only when `worse_by - noise` exceeds the
    margin, and None when either version scored too few rows or cannot be estimated. Only rows the router
    answered or shadowed count: a batch file scored with one version (`vigil score --version N`) is rows an
    operator chose, and would let them move a failing comparison."""
    estimates: dict[int, dict[str, Any]] = {}
    for version in (candidate, champion):
        try:
            result = estimate_performance(ctx, model_name, period, version=version, keep=False, live_only=True)
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
    scale = theirs["estimate"] if regression and theirs["estimate"] else 1.0
    worse_by = ((ours["estimate"] - theirs["estimate"]) / scale if theirs["estimate"] else 0.0) \
        if regression else theirs["estimate"] - ours["estimate"]
    noise = Z * math.hypot(ours.get("sampling_error") or 0.0, theirs.get("sampling_error") or 0.0) / scale
    return {"metric": f"estimated_{PRIMARY[ours['task']]}", "worse_by": worse_by, "margin": margin,
            "noise": noise, "ok": worse_by - noise <= margin, "candidate": ours, "champion": theirs,
            "measure": "relative rise of estimated MAE" if regression else "drop of estimated ROC AUC"}


def _inconclusive(candidate: int, champion: int, margin: float, why: str) -> dict[str, Any]:
    return {"metric": None, "worse_by": None, "margin": margin, "ok": None, "note": why,
            "candidate": {"version": candidate}, "champion": {"version": champion}}
