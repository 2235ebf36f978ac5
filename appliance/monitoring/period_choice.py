"""Which period a monitoring check looks at: the last window ending now, or a past period given by
its start and end, on the model's time axis (`monitoring.time_axis`) unless the caller names one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import cast

from appliance.clock import utc_now
from appliance.core.periods import AXES, Axis, Period
from appliance.core.windows import parse_window
from appliance.errors import MonitoringError
from appliance.home.context import AppContext


def model_axis(ctx: AppContext, model_name: str, axis: str | None = None) -> Axis:
    """`axis` if given, else the model's configured `monitoring.time_axis`."""
    chosen = axis or ctx.config.monitoring.bands_for(model_name).time_axis
    if chosen not in AXES:
        raise MonitoringError(f"axis must be one of {', '.join(AXES)}, not '{chosen}'")
    return cast(Axis, chosen)


def recent_period(ctx: AppContext, model_name: str, window: str, axis: str | None = None) -> Period:
    """The `window` that ends now, on the model's axis (or `axis`)."""
    return Period.ending(utc_now(), parse_window(window), model_axis(ctx, model_name, axis))


def given_period(ctx: AppContext, model_name: str, start: datetime, end: datetime,
                 axis: str | None = None) -> Period:
    """[start, end) on the model's axis (or `axis`); times without a zone are UTC."""
    start, end = naive_utc(start), naive_utc(end)
    if end <= start:
        raise MonitoringError(f"--to ({end:%Y-%m-%d %H:%M:%S}) must be after --from ({start:%Y-%m-%d %H:%M:%S})")
    return Period(start, end, model_axis(ctx, model_name, axis))


def naive_utc(moment: datetime) -> datetime:
    """The store keeps naive UTC timestamps: convert an aware time to UTC and drop its zone."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
