"""What a rollback's confirmation shows beside its target: the release door's plan (which version,
and why that one, from `rollback.rollback_plan`; no second rule), that version's pre-flight run now
(`rollback.preflight`: it loads, has its contract, its recorded answers repeat), and what traffic it
answered in its earlier times as champion (from, to, how that time ended, requests answered, p95
latency, and the share of the model's requests the contract refused meanwhile), from the log as it
is kept (retention may have removed older rows: then the counts say so by being 0)."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.release.rollback import preflight, rollback_plan
from appliance.store import release_queries as rq
from appliance.store.connection import Store

TIMES = 3  # the target's most recent times as champion shown


def plan_with_evidence(ctx: AppContext, model_name: str, to: int | None) -> dict[str, Any]:
    """The rollback plan with the target's pre-flight and its times as champion; changes nothing."""
    plan = rollback_plan(ctx, model_name, to)
    target = int(plan["to_version"])
    return {**plan, "preflight": preflight(ctx, model_name, target),
            "champion_times": champion_times(ctx.store, model_name, target)}


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
