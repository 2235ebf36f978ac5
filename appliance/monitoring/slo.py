"""A model's service level objectives now: each objective's value over its window, the error budget left,
when it runs out at the current rate, and the burn rate of every alert window (`vigil slo`, and what the
burn-rate alerts read).

Request objectives are counted from the rollups (docs/monitoring.md, "SLOs and error budgets"):
- availability: a request is good when it was answered; bad when the service failed it (a 5xx kept in
  `rejected_requests`: the version raised, or its rows could not be stored). A client's mistake (4xx) is
  neither: it is the client's failure, not the service's, and spends no budget.
- latency: an answered request is good when its latency bucket's upper edge is at most the threshold
  (the histogram's 2%-wide buckets: a threshold between edges counts from the edge below it).
Check objectives count the monitoring checks whose window ended in the objective's window, at most one per
slot of the schedule (`jobs.monitor_every`: a manual check run again and again is still one): quality (the
realized metric on labels, else its estimate, at or above the floor), label coverage (at or above its
floor) and drift (the check's drift verdict not critical). A check without the value is not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from appliance.clock import utc_now
from appliance.config import SloPolicy
from appliance.core.windows import parse_window
from appliance.home.context import AppContext
from appliance.monitoring import slo_math as sm
from appliance.store import rollup_queries as rq
from appliance.store import slo_queries as sq

RATE_SPAN = timedelta(hours=1)  # "at the current rate": a request objective's burn rate over the last hour
CHECK_RATE_SPAN = timedelta(days=1)  # a check objective's over the last day (checks run every 15 minutes)
EPOCH = datetime(1970, 1, 1)  # check slots are counted from here (stored times are UTC, without a zone)


@dataclass(frozen=True, slots=True)
class Objective:
    """One objective of one model: what counts, its target and window."""

    name: str  # availability, latency, quality, label_coverage, drift
    kind: str  # "requests" or "checks"
    target: float
    window: timedelta
    describe: str


def objectives(policy: SloPolicy) -> list[Objective]:
    """The objectives `policy` turns on, in the order `vigil slo` shows them."""
    window = parse_window(policy.window)
    return [o for o in _candidates(policy, window) if o.name in policy.objectives]


def _candidates(policy: SloPolicy, window: timedelta) -> list[Objective]:
    found = []
    if policy.availability_target is not None:
        found.append(Objective("availability", "requests", policy.availability_target, window,
                               "requests answered without a server error (5xx)"))
    if policy.latency_target is not None:
        found.append(Objective("latency", "requests", policy.latency_target, window,
                               f"answered requests within {policy.latency_threshold_ms:g} ms"))
    if policy.quality_floor is not None:
        found.append(Objective("quality", "checks", policy.check_target, window,
                               f"checks with {policy.quality_metric} (realized, else estimated) "
                               f"{'<=' if policy.quality_lower_is_better else '>='} {policy.quality_floor:g}"))
    if policy.label_coverage_floor is not None:
        found.append(Objective("label_coverage", "checks", policy.check_target, window,
                               f"checks with label coverage of due rows >= {policy.label_coverage_floor:g}"))
    if policy.drift_objective:
        found.append(Objective("drift", "checks", policy.check_target, window, "checks without critical drift"))
    return found


def fast_bucket(threshold_ms: float) -> int:
    """The last latency bucket whose upper edge is at most `threshold_ms` (-1: none)."""
    bucket = math.floor(math.log(threshold_ms / rq.BASE_MS) / math.log(rq.GROWTH) + 1e-9)
    while bucket >= 0 and rq.bucket_upper_ms(bucket) > threshold_ms * (1 + 1e-12):
        bucket -= 1
    return max(bucket, -1)


def model_slos(ctx: AppContext, model_name: str, now: datetime | None = None) -> dict[str, Any]:
    """Every objective of `model_name` at `now`: value, budget left, exhaustion, burn per alert window."""
    end = now or utc_now()
    policy = ctx.config.slo.policy_for(model_name)
    chosen = objectives(policy)
    spans = _request_spans(chosen)
    counts = dict(zip(spans, sq.request_counts(ctx.store, model_name, [end - s for s in spans], end,
                                               fast_bucket(policy.latency_threshold_ms), rq.watermark(ctx.store))))
    checks = _checks(ctx, model_name, policy, chosen, end)
    found = [_request_objective(o, counts, policy) if o.kind == "requests" else _check_objective(o, checks, end,
                                                                                                 policy)
             for o in chosen]
    return {"model": model_name, "at": end, "objectives": found}


def _request_spans(chosen: list[Objective]) -> list[timedelta]:
    spans = {o.window for o in chosen if o.kind == "requests"} | {RATE_SPAN}
    spans |= {p.long for p in sm.PAIRS} | {p.short for p in sm.PAIRS}
    return sorted(spans, reverse=True)


def _good_bad(objective: Objective, count: dict[str, int]) -> tuple[int, int]:
    if objective.name == "availability":
        return count["answered"], count["failed"]
    return count["fast"], count["answered"] - count["fast"]


def _request_objective(objective: Objective, counts: dict[timedelta, dict[str, int]],
                       policy: SloPolicy) -> dict[str, Any]:
    good, bad = _good_bad(objective, counts[objective.window])
    rate_good, rate_bad = _good_bad(objective, counts[RATE_SPAN])
    windows = {span: _good_bad(objective, c) for span, c in counts.items()}
    burns = [_pair(p, objective, windows, policy.min_requests) for p in sm.PAIRS]
    return _summary(objective, good, bad, _rate(rate_bad, rate_good + rate_bad, objective.target, policy.min_requests),
                    burns, RATE_SPAN, policy.min_requests)


def _rate(bad: int, total: int, target: float, min_events: int) -> float | None:
    """The current burn rate, or None over fewer than `min_events` events (one failure of one is no rate)."""
    return sm.burn_rate(bad, total, target) if total >= min_events else None


def _pair(pair: sm.BurnPair, objective: Objective, windows: dict[timedelta, tuple[int, int]],
          min_requests: int) -> dict[str, Any]:
    def burn(span: timedelta) -> float | None:
        good, bad = windows[span]
        return sm.burn_rate(bad, good + bad, objective.target) if good + bad >= min_requests else None

    long_burn, short_burn = burn(pair.long), burn(pair.short)
    ratio = sm.pair_ratio(pair, objective.window, long_burn, short_burn)
    long_good, long_bad = windows[pair.long]
    return {"severity": pair.severity, "windows": pair.name, "threshold": sm.threshold(pair, objective.window),
            "long_burn": long_burn, "short_burn": short_burn, "ratio": ratio, "firing": ratio > 1.0,
            "long_bad": long_bad, "long_total": long_good + long_bad}


def _checks(ctx: AppContext, model_name: str, policy: SloPolicy, chosen: list[Objective],
            end: datetime) -> list[dict[str, Any]]:
    windows = [o.window for o in chosen if o.kind == "checks"]
    if not windows:
        return []
    found = sq.checks(ctx.store, model_name, end - max(windows), end, policy.quality_metric)
    return one_per_slot(found, parse_window(ctx.config.jobs.monitor_every))


def one_per_slot(checks: list[dict[str, Any]], slot: timedelta) -> list[dict[str, Any]]:
    """At most one check per slot of the monitoring schedule (`jobs.monitor_every`), so that running
    `vigil monitor run` again and again neither spends a check objective's budget nor hides its spending:
    the slot's newest scheduled check, else its newest manual one. `checks` oldest first."""
    chosen: dict[int, dict[str, Any]] = {}
    for check in checks:
        index = (check["window_end"] - EPOCH) // slot
        held = chosen.get(index)
        if held is None or held["trigger"] == "manual" or check["trigger"] != "manual":
            chosen[index] = check
    return [chosen[index] for index in sorted(chosen)]


def check_good(name: str, check: dict[str, Any], policy: SloPolicy) -> bool | None:
    if name == "drift":
        return None if check["drift_verdict"] is None else check["drift_verdict"] != "critical"
    if name == "label_coverage":
        value = check["label_coverage"]
        return None if value is None else value >= (policy.label_coverage_floor or 0.0)
    value = check["realized"] if check["realized"] is not None else check["estimated"]
    if value is None:
        return None
    floor = policy.quality_floor or 0.0
    return value <= floor if policy.quality_lower_is_better else value >= floor


def _check_objective(objective: Objective, checks: list[dict[str, Any]], end: datetime,
                     policy: SloPolicy) -> dict[str, Any]:
    judged = [(c["window_end"], check_good(objective.name, c, policy)) for c in checks
              if c["window_end"] >= end - objective.window]
    judged = [(at, good) for at, good in judged if good is not None]
    good = sum(1 for _, g in judged if g)
    recent = [g for at, g in judged if at >= end - CHECK_RATE_SPAN]
    rate = _rate(sum(1 for g in recent if not g), len(recent), objective.target, policy.min_checks)
    summary = _summary(objective, good, len(judged) - good, rate, [], CHECK_RATE_SPAN, policy.min_checks)
    summary["latest"] = _latest(objective.name, checks, policy)
    return summary


def _latest(name: str, checks: list[dict[str, Any]], policy: SloPolicy) -> Any:
    """The newest check's own value of the objective (its verdict, metric or coverage)."""
    for check in reversed(checks):
        if name == "drift" and check["drift_verdict"] is not None:
            return check["drift_verdict"]
        if name == "label_coverage" and check["label_coverage"] is not None:
            return check["label_coverage"]
        if name == "quality":
            value = check["realized"] if check["realized"] is not None else check["estimated"]
            if value is not None:
                return value
    return None


def _summary(objective: Objective, good: int, bad: int, rate: float | None, burns: list[dict[str, Any]],
             rate_span: timedelta, min_events: int) -> dict[str, Any]:
    total = good + bad
    left = sm.budget_left(bad, total, objective.target)
    runs_out = sm.exhausted_in(left, rate, objective.window)
    return {"objective": objective.name, "kind": objective.kind, "describe": objective.describe,
            "target": objective.target, "window": objective.window, "good": good, "bad": bad, "total": total,
            "value": good / total if total else None, "allowed_bad": (1 - objective.target) * total,
            "budget_left": left, "burn_rate": rate, "rate_span": rate_span,
            "exhausted_in": runs_out, "burns": burns, "min_events": min_events}
