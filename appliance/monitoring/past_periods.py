"""Checking a past period: `vigil monitor run NAME --from T --to T [--chunk SPEC] [--axis A]`.

The period is cut into chunks (appliance/monitoring/chunking.py) and each chunk is checked as the
monitor job checks the last window (drift, data quality, outcomes, system health), stored as one
monitor run with its drift run and observations.

Paging: a chunk that ends before the last monitoring window (`jobs.monitor_every` before now) is
history: its observations are stored (trigger `past`) but no alert rule is applied to them, it does
not count towards a drift-retrain streak and it does not judge a canary; checking 2016 must not page
anyone in 2026. A chunk that ends within the last window (or later) is current traffic: the rules
apply to it as to a scheduled check (trigger `manual`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.alerts.routing import AlertRouter
from appliance.alerts.rules import load_rules
from appliance.clock import utc_now
from appliance.core.periods import Period
from appliance.core.windows import parse_window
from appliance.errors import MonitoringError
from appliance.home.context import AppContext
from appliance.monitoring.checks import run_check
from appliance.monitoring.chunking import ChunkSpec, parse_chunk, period_chunks, sized_chunks
from appliance.monitoring.monitor import models_to_check
from appliance.monitoring.period_choice import given_period, model_axis, naive_utc
from appliance.store import period_queries as pq


def monitor_past(ctx: AppContext, names: list[str] | None, *, start: str | None, end: str | None, window: str,
                 chunk: str | None, axis: str | None, actor: str) -> dict[str, Any]:
    """Check each model over [start, end) (default: the last `window`), chunk by chunk; route alerts of
    the chunks that are current traffic. Returns the checks and a table of chunks."""
    if end and not start:
        raise MonitoringError("--to needs --from: give the start of the past period")
    spec = parse_chunk(chunk) if chunk else None
    now = utc_now()
    checks: list[dict[str, Any]] = []
    for name in models_to_check(ctx, names):
        checks += check_period(ctx, name, _period(ctx, name, start, end, window, axis, now), spec, actor=actor)
    return {"window": window, "from": start, "to": end, "chunk": str(spec) if spec else None,
            "checks": checks, "chunks": [chunk_row(c) for c in checks]}


def check_period(ctx: AppContext, model_name: str, period: Period, spec: ChunkSpec | None, *,
                 actor: str) -> list[dict[str, Any]]:
    """One stored monitor run per chunk of the period; the rules apply only to chunks ending within the last
    monitoring window (their alerts are routed), the others are history."""
    rules = load_rules(ctx.home.root)
    router = ctx.alerts or AlertRouter.from_config(ctx.home.root, ctx.config)
    current_from = utc_now() - parse_window(ctx.config.jobs.monitor_every)
    checks: list[dict[str, Any]] = []
    try:
        for part in chunks_of(ctx, model_name, period, spec):
            alerting = part.end > current_from
            summary, changes = run_check(ctx, model_name, period=part, trigger="manual" if alerting else "past",
                                         actor=actor, rules=rules, alerting=alerting)
            router.deliver(changes)
            checks.append(summary)
    finally:
        if ctx.alerts is None:
            router.close()
    return checks


def _period(ctx: AppContext, name: str, start: str | None, end: str | None, window: str, axis: str | None,
            now: datetime) -> Period:
    if not start:
        return Period.ending(now, parse_window(window), model_axis(ctx, name, axis))
    return given_period(ctx, name, moment(start), moment(end) if end else now, axis)


def moment(text: str) -> datetime:
    """An ISO date or time as naive UTC (a time without a zone is UTC)."""
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MonitoringError(f"'{text}' is not a date or time like 2016-03-01 or 2016-03-01T12:00") from None
    try:
        return naive_utc(found)
    except OverflowError:  # an offset moving it before year 1 or past year 9999
        raise MonitoringError(f"'{text}' is outside the years 1 to 9999 in UTC") from None


def chunks_of(ctx: AppContext, model_name: str, period: Period, spec: ChunkSpec | None) -> list[Period]:
    """The period cut by `spec` (None: one chunk, the whole period)."""
    if spec is None:
        return [period]
    if spec.kind == "period":
        return period_chunks(period, spec)
    times, counts = pq.row_times(ctx.store, model_name, period)
    return sized_chunks(period, spec, times, counts) or [period]


def chunk_row(check: dict[str, Any]) -> dict[str, Any]:
    """One line of the chunk table: the period, its rows, drift, quality and realized performance."""
    outcomes = check.get("outcomes") or {}
    return {"model": check["model"], "start": check["window_start"], "end": check["window_end"],
            "axis": check["axis"], "rows": check.get("current_rows"), "drift": check.get("drift_verdict"),
            "worst_feature": check.get("worst_feature"), "worst_psi": check.get("worst_psi"),
            "quality_problems": check.get("quality_problems"), "labelled": outcomes.get("labelled"),
            "coverage": outcomes.get("coverage"), "metrics": outcomes.get("metrics") or {},
            "alerting": check["alerting"], "alerts": len(check["alerts"]), "run_id": check["run_id"]}
