"""Check models now and route what the checks raised: `vigil monitor run` and the monitor job."""

from __future__ import annotations

import shutil
from typing import Any

from appliance.alerts.evaluation import AlertChange, Observation, evaluate
from appliance.alerts.incidents import escalate
from appliance.alerts.owners import owner_label
from appliance.alerts.routing import AlertRouter
from appliance.alerts.rules import load_rules
from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.monitoring.checks import run_check
from appliance.store import registry_queries as q

DAEMON_SUBJECT = "(daemon)"


def served_models(ctx: AppContext) -> list[str]:
    return sorted(m["name"] for m in q.list_models(ctx.store) if q.aliases(ctx.store, m["name"]).get("champion"))


def models_to_check(ctx: AppContext, names: list[str] | None) -> list[str]:
    """The named models, each once and all known before any is checked (a name repeated 10,000 times is one
    check, and an unknown last name leaves nothing stored for the first); no names: every served model."""
    from appliance.registry.versions import require_model

    if not names:
        return served_models(ctx)
    chosen = list(dict.fromkeys(names))
    for name in chosen:
        require_model(ctx.store, name)
    return chosen


def monitor(ctx: AppContext, names: list[str] | None, *, window: str, trigger: str, actor: str,
            axis: str | None = None) -> dict[str, Any]:
    """Check each model over the `window` ending now, on its time axis (or `axis`), and route the alerts."""
    from appliance.monitoring.period_choice import recent_period

    rules = load_rules(ctx.home.root)
    router = ctx.alerts or AlertRouter.from_config(ctx.home.root, ctx.config)
    checks = []
    try:
        for name in models_to_check(ctx, names):
            period = recent_period(ctx, name, window, axis)
            summary, changes = run_check(ctx, name, period=period, trigger=trigger, actor=actor, rules=rules)
            router.deliver(changes)
            checks.append(summary)
    finally:
        if ctx.alerts is None:
            router.close()
    free = disk_free_share(ctx)
    return {"window": window, "checks": checks, "disk_free_share": free}


def disk_free_share(ctx: AppContext) -> float:
    """Feed the free share of the home's file system to the `disk_free_share` rules; returns it."""
    usage = shutil.disk_usage(ctx.home.root)
    share = usage.free / usage.total if usage.total else 1.0
    _observe(ctx, None, Observation("system", "disk_free_share", "home", share))
    return share


def job_outcome(ctx: AppContext, job: str, model_name: str | None, *, failed: bool) -> list[AlertChange]:
    """Feed a job's success or failure to the `job_failed` rules (a success resolves the alert)."""
    return _observe(ctx, model_name, Observation("jobs", "job_failed", job, 1.0 if failed else 0.0))


def _observe(ctx: AppContext, model_name: str | None, observation: Observation) -> list[AlertChange]:
    """Apply the rules to one observation of the daemon (or of a model), open incidents, route alerts."""
    rules = load_rules(ctx.home.root)
    now = utc_now()
    with ctx.store.transaction():
        owner = owner_label(ctx.config, model_name) if model_name else None
        changes = evaluate(ctx.store, rules, model_name or DAEMON_SUBJECT, [observation], now, owner)
        escalate(ctx.store, changes, now)
    router = ctx.alerts or AlertRouter.from_config(ctx.home.root, ctx.config)
    try:
        router.deliver(changes)
    finally:
        if ctx.alerts is None:
            router.close()
    return changes
