"""Muting a rule for a while: alerts it opens meanwhile are recorded but neither routed nor escalated."""

from __future__ import annotations

from typing import Any

from appliance.alerts.rules import load_rules
from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.errors import AlertError
from appliance.core.windows import parse_window
from appliance.store import alert_queries as aq
from appliance.store import registry_queries as q


def mute(ctx: AppContext, rule: str, model_name: str, duration: str, reason: str, actor: str) -> dict[str, Any]:
    names = [r.name for r in load_rules(ctx.home.root)]
    if rule not in names:
        raise AlertError(f"no alert rule '{rule}'; the rules are {', '.join(names)} (see `vigil alerts rules`)")
    if not reason.strip():
        raise AlertError("muting needs a reason; pass --reason TEXT")
    now = utc_now()
    row = dict(rule=rule, model_name=model_name, until=now + parse_window(duration), muted_by=actor, muted_at=now,
               reason=reason.strip())
    with ctx.store.transaction():
        aq.insert_mute(ctx.store, row)
        q.insert_audit(ctx.store, now, actor, "alert.mute", None if model_name == "*" else model_name, None,
                       {"rule": rule, "model": model_name, "until": row["until"], "reason": row["reason"]},
                       subject=f"mute:{rule}@{model_name}", after={"until": row["until"]}, reason=reason.strip())
    return row
