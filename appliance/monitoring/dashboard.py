"""What an on-call dashboard shows for a model, fast over long windows: latency percentiles per
version, requests per minute, the worst-drifting features.

The rollup job folds complete minutes of the prediction log into `request_rollups` and
`latency_rollups` (a per-minute latency histogram with 2%-wide buckets); queries read the rollups
up to the watermark and the raw log after it, so they cost the same for an hour or a week.
Percentiles are the upper edge of the bucket that holds them: at most 2% above the exact value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.core.windows import parse_window
from appliance.registry.versions import require_model
from appliance.store import rollup_queries as rq
from appliance.store import slo_queries as sq

SAFETY_LAG = timedelta(minutes=1)  # rows are committed within seconds of their logged_at; never later


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def roll_up(ctx: AppContext, now: datetime | None = None) -> dict[str, Any]:
    """Fold every complete minute older than the safety lag into the rollups (answered requests, their
    latency histogram, and refused requests by kind)."""
    end = _minute((now or utc_now()) - SAFETY_LAG)
    start = rq.watermark(ctx.store)
    if start is None:
        firsts = [at for at in (rq.first_logged_at(ctx.store), sq.first_rejected_at(ctx.store)) if at is not None]
        start = _minute(min(firsts)) if firsts else end
    if start >= end:
        return {"from": start, "to": end, "requests": 0}
    with ctx.store.transaction():
        rolled = rq.roll_up(ctx.store, start, end)
        sq.roll_up_failures(ctx.store, start, end)  # refused requests per minute, for availability objectives
        sq.compact_hours(ctx.store)  # the latency histogram per complete hour, for objectives over weeks
    return {"from": start, "to": end, "requests": rolled}


def dashboard(ctx: AppContext, model_name: str, window: str, *, now: datetime | None = None) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    end = now or utc_now()
    start = end - parse_window(window)
    upto = rq.watermark(ctx.store)
    return {"model": model_name, "window_start": start, "window_end": end, "rolled_up_to": upto,
            "latency": rq.latency_percentiles(ctx.store, model_name, start, end, upto),
            "requests_per_minute": rq.requests_per_minute(ctx.store, model_name, start, end, upto),
            "worst_drift": rq.worst_drift(ctx.store, model_name, 5)}
