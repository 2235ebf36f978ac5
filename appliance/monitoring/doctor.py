"""`vigil doctor`: what in the home's set-up leaves an on-call engineer without an answer: a model nobody
owns (its pages name no one and reach only the global routes), owners or objectives configured for a
model that does not exist (a typo that silently applies the defaults), and a home whose own alerts.toml
has no rule on the burn-rate metrics (its objectives are measured, but never page)."""

from __future__ import annotations

from typing import Any

from appliance.alerts.owners import unowned
from appliance.alerts.rules import RULES_FILE, load_rules
from appliance.home.context import AppContext
from appliance.store import registry_queries as q


def doctor(ctx: AppContext) -> dict[str, Any]:
    """Every finding, each with the model it names and what to do; `ok` when there is none."""
    models = [str(m["name"]) for m in q.list_models(ctx.store)]
    findings = [{"check": "owner", "model": name,
                 "problem": f"model {name} has no owner; add [owners.models.{name}] team and contact to vigil.toml"}
                for name in unowned(ctx.config, models)]
    for section, names in (("owners", ctx.config.owners.models), ("slo", ctx.config.slo.models)):
        findings += [{"check": "config", "model": name,
                      "problem": f"[{section}.models.{name}] names no model of this home (a typo?)"}
                     for name in sorted(set(names) - set(models))]
    findings += _silent_objectives(ctx, models)
    return {"ok": not findings, "models": len(models), "findings": findings}


SLO_METRICS = ("slo_burn_page", "slo_burn_ticket", "slo_budget_spent")


def _silent_objectives(ctx: AppContext, models: list[str]) -> list[dict[str, Any]]:
    """A finding per burn-rate metric that no rule of the home's own alerts.toml judges, when some model
    has objectives (the built-in rules judge all three)."""
    if not (ctx.home.root / RULES_FILE).exists() or not any(ctx.config.slo.policy_for(m).objectives for m in models):
        return []
    judged = {rule.metric for rule in load_rules(ctx.home.root)}
    return [{"check": "alerts", "model": None,
             "problem": f"{RULES_FILE} has no rule on {metric}: objectives are measured but never alert; add the "
                        f"built-in rule (docs/monitoring.md, SLOs and error budgets)"}
            for metric in SLO_METRICS if metric not in judged]
