"""What `vigil slo [NAME]` shows: each model's owner and objectives now (monitoring/slo.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appliance.alerts.owners import owner_label
from appliance.home.context import AppContext
from appliance.monitoring.monitor import served_models
from appliance.monitoring.slo import model_slos
from appliance.registry.versions import require_model


def slo_status(ctx: AppContext, model_name: str | None, *, now: datetime | None = None) -> dict[str, Any]:
    """The named model's objectives, or every served model's, at `now` (default: the present)."""
    if model_name is not None:
        require_model(ctx.store, model_name)
    names = [model_name] if model_name is not None else served_models(ctx)
    return {"models": [_plain({**model_slos(ctx, name, now), "owner": owner_label(ctx.config, name)}) for name in names]}


def _plain(report: dict[str, Any]) -> dict[str, Any]:
    """Spans as seconds (`window`, `rate_span`, `exhausted_in`), so the answer reads the same as JSON."""
    return {**report, "objectives": [{key: value.total_seconds() if isinstance(value, timedelta) else value
                                      for key, value in objective.items()} for objective in report["objectives"]]}
