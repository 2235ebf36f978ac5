"""What monitoring asks of the performance estimates: the observations an alert rule tests, and the
estimate beside an outcome report's realized metric."""

from __future__ import annotations

from typing import Any

from appliance.alerts.evaluation import Observation
from appliance.core.periods import Period
from appliance.errors import MonitoringError, RegistryError
from appliance.home.context import AppContext
from appliance.estimation.performance import estimate_performance


def estimate_observations(ctx: AppContext, model_name: str, period: Period, actor: str) -> list[Observation]:
    """The champion's whole-period estimates, stored, as observations `estimated_<metric>` (source
    "estimates"), and `estimate_alert` (1 when any estimate left its reference's alert band)."""
    result = estimate_performance(ctx, model_name, period, actor=actor)
    found = [Observation("estimates", f"estimated_{e['metric']}", "(model)", float(e["estimate"]))
             for e in result["chunks"][0]["estimates"] if e["estimate"] is not None]
    alerting = [e for e in result["chunks"][0]["estimates"] if e["alert"]]
    found.append(Observation("estimates", "estimate_alert", "(model)", float(bool(alerting))))
    return found


def estimates_beside(ctx: AppContext, model_name: str, period: Period, versions: list[int]) -> dict[str, Any]:
    """Each version's whole-period estimates (not stored), keyed by version, for a report that shows them
    beside the realized metrics; a version that cannot be estimated says why."""
    found: dict[str, Any] = {}
    for version in versions:
        try:
            result = estimate_performance(ctx, model_name, period, version=version, keep=False)
        except (MonitoringError, RegistryError) as e:
            found[str(version)] = {"note": str(e)}
            continue
        found[str(version)] = {"rows": result["rows"], "method": result["method"],
                               "metrics": {e["metric"]: e for e in result["chunks"][0]["estimates"]}}
    return found
