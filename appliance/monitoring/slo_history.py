"""A model's error budgets over time, for the report's budget chart: at the end of each step of a span,
each objective's budget left over its window ending there (the same arithmetic as `vigil slo`, on whole
hours: a window's start is taken to the hour, so the last point can differ from `vigil slo`'s
minute-exact value by the events of that first hour), and the burn rate within the step.

Request objectives sum hourly counts read once from the rollups (store/slo_queries.py), so a week's
chart of a 30-day objective reads 37 days of hours, not 37 queries; check objectives sum the monitoring
checks of the span and the window before it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import datetime, timedelta
from typing import Any, Callable

from appliance.config import SloPolicy
from appliance.core.windows import parse_window
from appliance.home.context import AppContext
from appliance.monitoring import slo_math as sm
from appliance.monitoring.slo import Objective, check_good, fast_bucket, objectives, one_per_slot
from appliance.store import rollup_queries as rq
from appliance.store import slo_queries as sq

HOUR = timedelta(hours=1)
MAX_POINTS = 200

Event = tuple[datetime, int, int]  # (when, good, bad)


def budget_history(ctx: AppContext, model_name: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Each objective of `model_name` with its budget left and burn rate at the end of every step of
    [start, end] (steps of whole hours, at most MAX_POINTS of them)."""
    policy = ctx.config.slo.policy_for(model_name)
    chosen = objectives(policy)
    step = HOUR * max(1, math.ceil((end - start) / HOUR / MAX_POINTS))
    ends = _step_ends(start, end, step)
    longest = max((o.window for o in chosen), default=timedelta(0))
    requests = _request_events(ctx, model_name, policy, chosen, ends[0] - step - longest, end)
    checks = _check_events(ctx, model_name, policy, chosen, ends[0] - step - longest, end)
    found = []
    for objective in chosen:
        events = requests[objective.name] if objective.kind == "requests" else checks[objective.name]
        found.append({"objective": objective.name, "target": objective.target,
                      "window": objective.window.total_seconds(), "points": _points(objective, events, ends, step)})
    return {"model": model_name, "step": step.total_seconds(), "objectives": found}


def _step_ends(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Whole hours after `start` every `step`, and `end` itself last."""
    first = start.replace(minute=0, second=0, microsecond=0) + HOUR
    count = max(0, math.ceil((end - first) / step))
    ends = [first + step * i for i in range(count) if first + step * i < end]
    return [*ends, end]


def _request_events(ctx: AppContext, model_name: str, policy: SloPolicy, chosen: list[Objective],
                    start: datetime, end: datetime) -> dict[str, list[Event]]:
    if not any(o.kind == "requests" for o in chosen):
        return {}
    hours = sq.hourly_counts(ctx.store, model_name, start, end, fast_bucket(policy.latency_threshold_ms),
                             rq.watermark(ctx.store))
    return {"availability": [(h["hour"], h["answered"], h["failed"]) for h in hours],
            "latency": [(h["hour"], h["fast"], h["answered"] - h["fast"]) for h in hours]}


def _check_events(ctx: AppContext, model_name: str, policy: SloPolicy, chosen: list[Objective],
                  start: datetime, end: datetime) -> dict[str, list[Event]]:
    names = [o.name for o in chosen if o.kind == "checks"]
    if not names:
        return {}
    rows = one_per_slot(sq.checks(ctx.store, model_name, start, end, policy.quality_metric),
                        parse_window(ctx.config.jobs.monitor_every))
    found: dict[str, list[Event]] = {}
    for name in names:
        judged = [(row["window_end"], check_good(name, row, policy)) for row in rows]
        found[name] = [(at, int(good), int(not good)) for at, good in judged if good is not None]
    return found


def _points(objective: Objective, events: list[Event], ends: list[datetime], step: timedelta) -> list[dict[str, Any]]:
    """Budget left over the window ending at each of `ends`, and the burn rate of the step before it.
    An hourly event counts in a window when its hour starts inside it (hours: the window's start is taken
    to the hour, as the rollups are)."""
    times = [at for at, _, _ in events]
    good_sum, bad_sum = _prefix([g for _, g, _ in events]), _prefix([b for _, _, b in events])

    def between(lo: datetime, hi: datetime) -> tuple[int, int]:
        i, j = bisect_left(times, lo), bisect_left(times, hi)
        return good_sum[j] - good_sum[i], bad_sum[j] - bad_sum[i]

    at_hour: Callable[[datetime], datetime] = (lambda t: t) if objective.kind == "checks" else _ceil_hour
    points = []
    for at in ends:
        good, bad = between(at_hour(at - objective.window), at_hour(at))
        step_good, step_bad = between(at_hour(at - step), at_hour(at))
        points.append({"at": at, "budget_left": sm.budget_left(bad, good + bad, objective.target),
                       "burn_rate": sm.burn_rate(step_bad, step_good + step_bad, objective.target)})
    return points


def _ceil_hour(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + HOUR


def _prefix(values: list[int]) -> list[int]:
    sums = [0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums
