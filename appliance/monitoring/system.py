"""System health of a model per minute: requests per second, client-error rate, latency percentiles."""

from __future__ import annotations

from typing import Any

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.core.windows import parse_window
from appliance.registry.versions import require_model
from appliance.store import quality_queries as qq


def system_report(ctx: AppContext, model_name: str, window: str) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    end = utc_now()
    start = end - parse_window(window)
    minutes = []
    for row in qq.per_minute(ctx.store, model_name, start, end):
        total = row["requests"] + row["rejected"]
        minutes.append({**row, "requests_per_s": row["requests"] / 60,
                        "error_rate": row["rejected"] / total if total else 0.0})
    return {"model": model_name, "window_start": start, "window_end": end, "minutes": minutes}
