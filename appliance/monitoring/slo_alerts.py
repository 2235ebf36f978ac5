"""Burn-rate alerts: every served model's objectives (monitoring/slo.py) turned into observations the alert
rules judge (`slo-burn-page`, `slo-burn-ticket`, `slo-budget-spent`), after each rollup.

An observation's value is how far a window pair of its severity is past firing (above 1: both windows burn
faster than the pair's threshold): the fastest pair that fires, else the one closest to firing, so the ordinary rules, streaks, muting, incidents and routing
apply unchanged: a burn opens one alert, which stays open (and pages once) while it lasts and resolves
when the short window stops burning. The alert's text names the objective, the burn rates against the
threshold, the budget left, when it runs out at this rate, the owner and, where the owner gave costs, the
estimated cost of the requests failed in the long window.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from appliance.alerts.evaluation import AlertChange, Observation, evaluate
from appliance.alerts.incidents import escalate
from appliance.alerts.owners import owner_label, owner_of
from appliance.alerts.routing import AlertRouter
from appliance.alerts.rules import load_rules
from appliance.clock import utc_now
from appliance.config import Owner
from appliance.home.context import AlertDelivery, AppContext
from appliance.monitoring import impact
from appliance.monitoring.monitor import served_models
from appliance.monitoring.slo import model_slos
from appliance.monitoring.slo_math import describe_span
from appliance.store import alert_queries as aq
from appliance.store import incident_queries as iq

log = logging.getLogger(__name__)
SEVERITY_METRIC = {"page": "slo_burn_page", "ticket": "slo_burn_ticket"}
SLO_METRICS = (*SEVERITY_METRIC.values(), "slo_budget_spent")
OBJECTIVES = ("availability", "latency", "quality", "label_coverage", "drift")


def check_slos(ctx: AppContext, now: datetime | None = None, names: list[str] | None = None) -> dict[str, Any]:
    """Judge the objectives of every served model (or of those `names` that are served), and of any model
    with an SLO alert still open, now; open, refresh or resolve burn alerts and route them, a model at a
    time in one transaction. A model that fails is logged and named under `errors`; the others are judged
    all the same. The daemon calls it under its write lock (the store's shutdown checkpoint fails beside a
    running transaction, so no job reads outside that lock)."""
    at = now or utc_now()
    rules = load_rules(ctx.home.root)
    router = ctx.alerts or AlertRouter.from_config(ctx.home.root, ctx.config)
    changed: list[AlertChange] = []
    errors: list[str] = []
    try:
        for name in _judged(ctx, names):
            try:
                changed += _judge(ctx, name, at, rules, router)
            except Exception as e:  # one model's failure never stops the others' pages
                log.exception("SLO judging failed for model %s", name)
                errors.append(f"{name}: {type(e).__name__}: {e}")
    finally:
        if ctx.alerts is None:
            router.close()
    return {"opened": sum(c.kind == "opened" for c in changed), "resolved": sum(c.kind == "resolved" for c in changed),
            "errors": errors}


def _judged(ctx: AppContext, names: list[str] | None) -> list[str]:
    """The served models, and those with an SLO alert open (a model that lost its champion, or an objective
    taken out of the configuration, still gets its alerts resolved)."""
    found = set(served_models(ctx)) | set(aq.models_with_open_alerts(ctx.store, list(SLO_METRICS)))
    return sorted(n for n in found if names is None or n in names)


def _judge(ctx: AppContext, name: str, at: datetime, rules: list[Any],
           router: AlertDelivery | AlertRouter) -> list[AlertChange]:
    report = model_slos(ctx, name, at)
    owner = owner_of(ctx.config, name)
    observations = observe(report, owner) + quiet(report)
    costs = cost_notes(report, owner)
    with ctx.store.transaction():
        changes = evaluate(ctx.store, rules, name, observations, at, owner_label(ctx.config, name))
        escalate(ctx.store, changes, at)
        _note_costs(ctx, name, changes, costs, at)
    router.deliver(changes)
    return changes


def quiet(report: dict[str, Any]) -> list[Observation]:
    """A zero for every SLO metric of each objective the model no longer has, so its open alerts resolve."""
    judged = {o["objective"] for o in report["objectives"]}
    return [Observation("slo", metric, name, 0.0) for name in OBJECTIVES if name not in judged
            for metric in SLO_METRICS]


def cost_notes(report: dict[str, Any], owner: Owner | None) -> dict[tuple[str, str], str]:
    """The estimated cost of each firing page, by (metric, objective): the incident it opens records it."""
    found = {}
    for objective in report["objectives"]:
        firing = [b for b in objective["burns"] if b["firing"] and b["severity"] == "page"]
        cost = impact.request_cost(owner, firing[0]["long_bad"]) if firing and owner is not None else None
        if cost is not None and owner is not None:
            burn = firing[0]
            found[(SEVERITY_METRIC["page"], objective["objective"])] = (
                f"estimated cost {impact.describe(cost, owner)}: {burn['long_bad']} {objective['objective']} "
                f"failures in the last {burn['windows'].split('/')[0]} at {owner.cost_per_failed_request:g} each")
    return found


def _note_costs(ctx: AppContext, name: str, changes: list[AlertChange], costs: dict[tuple[str, str], str],
                at: datetime) -> None:
    for change in changes:
        text = costs.get((change.alert["metric"], change.alert["subject"]))
        if change.kind == "opened" and text is not None:
            incident = iq.open_incident(ctx.store, name)
            if incident is not None:
                iq.add_event(ctx.store, int(incident["incident_id"]), at, "impact", "vigil", text)


def observe(report: dict[str, Any], owner: Owner | None) -> list[Observation]:
    """The observations of one model's SLO report: burn per severity, budget spent, per objective."""
    found = []
    for objective in report["objectives"]:
        name = objective["objective"]
        for severity, metric in SEVERITY_METRIC.items():
            pairs = [b for b in objective["burns"] if b["severity"] == severity]
            if pairs:
                firing = [b for b in pairs if b["firing"]]  # the fastest firing pair names the burn
                strongest = firing[0] if firing else max(pairs, key=lambda b: b["ratio"])
                detail = page_text(objective, strongest, owner) if strongest["firing"] else None
                found.append(Observation("slo", metric, name, strongest["ratio"], detail=detail))
        if objective["budget_left"] is not None and objective["total"] >= objective["min_events"]:
            spent = round(1.0 - objective["budget_left"], 9)
            found.append(Observation("slo", "slo_budget_spent", name, spent,
                                     detail=spent_text(objective, owner) if spent > 1.0 else None))
        else:  # too few events to say the budget is spent: an open alert resolves
            found.append(Observation("slo", "slo_budget_spent", name, 0.0))
    return found


def page_text(objective: dict[str, Any], burn: dict[str, Any], owner: Owner | None) -> str:
    """What a burn alert says: the SLO, the burn against the threshold, the budget left, owner and cost."""
    long_window, short_window = burn["windows"].split("/")
    return (f"{_slo(objective)} is burning its error budget at {burn['long_burn']:.3g}x over {long_window} and "
            f"{burn['short_burn']:.3g}x over {short_window} ({burn['severity']} above {burn['threshold']:g}x); "
            f"{_left(objective)}; {burn['long_bad']} of {burn['long_total']} requests bad in the last {long_window}"
            f"{_cost(owner, burn['long_bad'])}; owner {owner.label if owner else 'none'}")


def spent_text(objective: dict[str, Any], owner: Owner | None) -> str:
    cost = _cost(owner, objective["bad"]) if objective["kind"] == "requests" else ""
    return (f"{_slo(objective)} has spent its whole error budget: {objective['bad']} bad of {objective['total']}"
            f"{cost}; owner {owner.label if owner else 'none'}")


def _slo(objective: dict[str, Any]) -> str:
    return (f"{objective['objective']} SLO ({objective['target'] * 100:.6g}% of {objective['describe']} over "
            f"{describe_span(objective['window'])})")


def _left(objective: dict[str, Any]) -> str:
    left = objective["budget_left"]
    runs_out = objective["exhausted_in"]
    when = "already spent" if left is not None and left <= 0 else \
        f"gone in {describe_span(runs_out)} at this rate" if runs_out is not None else "not being spent"
    return f"{max(left or 0.0, 0.0):.1%} of the budget left, {when}"


def _cost(owner: Owner | None, bad: int) -> str:
    cost = impact.request_cost(owner, bad)
    return "" if cost is None or owner is None else f" (estimated cost {impact.describe(cost, owner)})"
