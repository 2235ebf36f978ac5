"""`vigil doctor`: what in the home's set-up leaves an on-call engineer without an answer: a model nobody
owns (its pages name no one and reach only the global routes), and owners or objectives configured for a
model that does not exist (a typo that silently applies the defaults)."""

from __future__ import annotations

from typing import Any

from appliance.alerts.owners import unowned
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
    return {"ok": not findings, "models": len(models), "findings": findings}
