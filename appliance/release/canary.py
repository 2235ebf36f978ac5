"""A canary's conclusion, through the door: a pass asks for promotion to champion with the analysis
as evidence (approved by someone other than the canary's requester when the rules ask for it); a
failure removes the canary."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.release import moves
from appliance.release.requests import pending_for, request_promotion
from appliance.store import release_queries as rq

ACTOR = "vigil-canary"
_ACTIONS = {"applied": "promoted", "approved": "promoted", "pending": "promotion requested"}


def graduate(ctx: AppContext, verdict: dict[str, Any]) -> dict[str, Any]:
    """File (or find) the promotion request for a passing canary; it applies at once only when the rules
    ask for no approval. Returns what was done."""
    model, canary = verdict["model"], int(verdict["canary"])
    pending_for(ctx, model, canary, "champion")  # expires an overdue request first
    filed_before = rq.latest_request(ctx.store, model, canary, "champion", verdict["since"])
    if filed_before is not None:  # one request per canary run: its decision stands
        return {"action": _ACTIONS.get(filed_before["status"], f"promotion {filed_before['status']}"),
                "request_id": filed_before["request_id"], "decision": filed_before["decision"]}
    requester = rq.alias_requester(ctx.store, model, "canary", canary) or ACTOR
    evidence = [_evidence(check) for check in verdict["checks"]]
    filed = request_promotion(ctx, model, canary, "champion", percent=None, actor=requester, evidence=evidence,
                              reason=f"canary analysis passed after {verdict['canary_requests']} requests")
    return {"action": _ACTIONS.get(filed["status"], f"promotion {filed['status']}"), "request_id": filed["request_id"], "requested_by": requester,
            "decision": filed.get("decision")}


def withdraw(ctx: AppContext, model_name: str, reason: str) -> int | None:
    """Remove a failing canary; returns the version it pointed at."""
    return moves.unset(ctx.store, model_name, "canary", actor=ACTOR, reason=reason)


def _evidence(check: dict[str, Any]) -> dict[str, Any]:
    value = check.get("value")
    return {"gate": f"canary_{check['check']}", "passed": bool(check["ok"]),
            "value": None if value is None else float(value), "limit": check.get("limit"),
            "detail": check.get("note") or f"canary analysis: {check['check']}"}
