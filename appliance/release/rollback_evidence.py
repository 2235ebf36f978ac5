"""What a rollback's confirmation shows beside its target: the release door's plan (which version,
and why that one, from `rollback.rollback_plan`; no second rule), that version's pre-flight run now
(`rollback.preflight`: it loads, has its contract, its recorded answers repeat), and what traffic it
answered in its earlier times as champion (from, to, how that time ended, requests answered, p95
latency, and the share of the model's requests the contract refused meanwhile), from the log as it
is kept (retention may have removed older rows: then the counts say so by being 0).

Asking for a plan is a viewer's right, and its pre-flight loads an artifact and scores rows, so the
pre-flight shown is shared: one runs at a time, and its result is reused for `PREFLIGHT_TTL_S` while
the model's champion history is unchanged (`preflight_at` says when it ran). Many viewers asking at
once cost one load, not one each. The rollback itself always runs its own pre-flight."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.release.rollback import preflight, rollback_plan
from appliance.store import release_queries as rq
from appliance.store.connection import Store

TIMES = 3  # the target's most recent times as champion shown
PREFLIGHT_TTL_S = 30.0  # a plan's pre-flight is reused this long while the champion history stays as it was

_one_at_a_time = threading.Lock()
_shared: dict[tuple[str, str, int, int], tuple[float, datetime, list[dict[str, Any]]]] = {}


def plan_with_evidence(ctx: AppContext, model_name: str, to: int | None) -> dict[str, Any]:
    """The rollback plan with the target's pre-flight and its times as champion; changes nothing."""
    plan = rollback_plan(ctx, model_name, to)
    target = int(plan["to_version"])
    checked_at, checks = shared_preflight(ctx, model_name, target)
    return {**plan, "preflight": checks, "preflight_at": checked_at,
            "champion_times": champion_times(ctx.store, model_name, target)}


def shared_preflight(ctx: AppContext, model_name: str, version: int) -> tuple[datetime, list[dict[str, Any]]]:
    """The target's pre-flight and when it ran: one at a time, reused for PREFLIGHT_TTL_S while the
    model's champion history (its last change) is what it was."""
    history = rq.champion_history(ctx.store, model_name)
    key = (str(ctx.home.root), model_name, version, int(history[-1]["id"]) if history else 0)
    with _one_at_a_time:
        found = _shared.get(key)
        if found is not None and time.monotonic() - found[0] < PREFLIGHT_TTL_S:
            return found[1], found[2]
        checked_at, checks = utc_now(), preflight(ctx, model_name, version)
        for stale in [k for k, (at, _, _) in _shared.items() if time.monotonic() - at >= PREFLIGHT_TTL_S]:
            del _shared[stale]
        _shared[key] = (time.monotonic(), checked_at, checks)
        return checked_at, checks


def champion_times(store: Store, model_name: str, version: int) -> list[dict[str, Any]]:
    """The version's most recent times as champion (latest first) with the traffic each answered."""
    history = rq.champion_history(store, model_name)
    times = []
    for row, following in zip(history, [*history[1:], None]):
        if row["to_version"] != version:
            continue
        start, end = row["changed_at"], following["changed_at"] if following else None
        traffic = rq.champion_traffic(store, model_name, version, start, end)
        requests = int(traffic["requests"])
        rejected = rq.rejected_between(store, model_name, start, end)
        times.append({"from": start, "to": end, "made_by": row["actor"],
                      "ended_by": None if following is None else following["kind"],
                      "ended_by_actor": None if following is None else following["actor"],
                      "requests": requests, "p95_ms": traffic["p95_ms"], "rejected": rejected,
                      "error_rate": rejected / (requests + rejected) if requests + rejected else None})
    return times[::-1][:TIMES]
