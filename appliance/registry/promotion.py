"""Promotion requests: `vigil promote` asks; the release policy's gates decide whether it may; an
approver approves when the policy asks for it; the alias moves through the same path as ever.

Four-eyes: the requester cannot approve their own request (the refusal is audited). Pending
requests expire after `expiry_hours`. While no users exist (a fresh, single-operator install) there
is only one identity on the machine, so a request that passes its gates is applied at once and its
decision says that approval was waived; once users exist, approval is required as configured.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appliance.clock import utc_now
from appliance.context import AppContext
from appliance.errors import Forbidden, RegistryError
from appliance.registry.aliases import ALIASES, move_alias
from appliance.registry.gates import run_gates
from appliance.registry.versions import servable_version
from appliance.store import registry_queries as q


def request_promotion(ctx: AppContext, model_name: str, version: int, alias: str, *, percent: float | None,
                      reason: str, actor: str) -> dict[str, Any]:
    if alias not in ALIASES:
        raise RegistryError(f"unknown alias '{alias}'; use one of {', '.join(ALIASES)}")
    if not reason.strip():
        raise RegistryError("a promotion needs a reason; pass --reason TEXT")
    servable_version(ctx.store, model_name, version)
    policy = ctx.config.promotion.policy_for(model_name)
    gates = run_gates(ctx, model_name, version, policy, alias)
    failing = [g for g in gates if not g["passed"]]
    needs_approval = alias in policy.approval_for
    waived = needs_approval and _no_users(ctx)
    now = utc_now()
    with ctx.store.transaction():
        request_id = int(ctx.store.scalar(
            "INSERT INTO promotion_requests (model_name, version, alias, percent, reason, requested_by, requested_at, "
            "status, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'evaluating', ?) RETURNING request_id",
            [model_name, version, alias, percent, reason.strip(), actor, now,
             now + timedelta(hours=policy.expiry_hours) if needs_approval and not waived else None]))
        for g in gates:
            ctx.store.execute("INSERT INTO promotion_evidence VALUES (?, ?, ?, ?, ?, ?)",
                              [request_id, g["gate"], g["passed"], g["value"], g["limit"], g["detail"]])
        q.insert_audit(ctx.store, now, actor, "promotion.request", model_name, version,
                       {"request_id": request_id, "alias": alias, "reason": reason.strip(),
                        "failing_gates": [g["gate"] for g in failing]},
                       subject=f"promotion:{request_id}", after={"status": "evaluating", "alias": alias,
                                                                 "version": version, "percent": percent,
                                                                 "gates": {g["gate"]: g["passed"] for g in gates}},
                       reason=reason.strip())
        if failing:
            _decide(ctx, request_id, "rejected", "vigil", "failing gates: " + ", ".join(g["gate"] for g in failing))
        elif needs_approval and not waived:
            ctx.store.execute("UPDATE promotion_requests SET status = 'pending' WHERE request_id = ?", [request_id])
        else:
            previous = move_alias(ctx.store, model_name, alias, version, actor=actor, reason=reason.strip(),
                                  percent=percent)
            _decide(ctx, request_id, "applied", actor,
                    "approval waived: no users exist yet" if waived else "no approval needed for this alias")
            return {**show_request(ctx, request_id), "from_version": previous}
    return {**show_request(ctx, request_id), "from_version": None}


def approve(ctx: AppContext, request_id: int, actor: str) -> dict[str, Any]:
    found = _pending(ctx, request_id)
    if found["requested_by"] == actor:
        with ctx.store.transaction():
            q.insert_audit(ctx.store, utc_now(), actor, "promotion.self_approval_refused", found["model_name"],
                           found["version"], {"request_id": request_id},
                           subject=f"promotion:{request_id}", before={"status": "pending"},
                           after={"status": "pending"}, reason="the requester cannot approve their own request")
        raise Forbidden(f"{actor} requested promotion {request_id} and cannot approve it; another approver must")
    with ctx.store.transaction():
        previous = move_alias(ctx.store, found["model_name"], found["alias"], int(found["version"]), actor=actor,
                              reason=f"{found['reason']} (requested by {found['requested_by']}, approved by {actor})",
                              percent=found["percent"])
        _decide(ctx, request_id, "approved", actor, "approved")
    return {**show_request(ctx, request_id), "from_version": previous}


def reject(ctx: AppContext, request_id: int, actor: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise RegistryError("rejecting needs --reason TEXT")
    _pending(ctx, request_id)
    with ctx.store.transaction():
        _decide(ctx, request_id, "rejected", actor, reason.strip())
    return show_request(ctx, request_id)


def show_request(ctx: AppContext, request_id: int) -> dict[str, Any]:
    found = ctx.store.row("SELECT * FROM promotion_requests WHERE request_id = ?", [request_id])
    if found is None:
        raise RegistryError(f"no promotion request {request_id}; list them with `vigil requests --all`")
    evidence = ctx.store.rows("SELECT gate, passed, value, limit_value, detail FROM promotion_evidence "
                              "WHERE request_id = ? ORDER BY rowid", [request_id])
    return {**found, "gates": evidence}


def request_beside_champion(ctx: AppContext, request_id: int) -> dict[str, Any]:
    """A request with its gate evidence, and the candidate's holdout metrics beside the champion's."""
    found = show_request(ctx, request_id)
    champion = q.aliases(ctx.store, found["model_name"]).get("champion")

    def overall(number: int | None) -> dict[str, float]:
        if number is None:
            return {}
        return {m["metric"]: m["value"] for m in q.metrics(ctx.store, found["model_name"], number)
                if m["segment_column"] is None}

    return {**found, "champion_version": champion, "candidate_metrics": overall(int(found["version"])),
            "champion_metrics": overall(champion)}


def list_requests(ctx: AppContext, include_decided: bool) -> list[dict[str, Any]]:
    _expire(ctx)
    return ctx.store.rows("SELECT * FROM promotion_requests WHERE ? OR status = 'pending' "
                          "ORDER BY request_id DESC LIMIT 200", [include_decided])


def _pending(ctx: AppContext, request_id: int) -> dict[str, Any]:
    _expire(ctx)
    found = show_request(ctx, request_id)
    if found["status"] != "pending":
        raise RegistryError(f"promotion request {request_id} is {found['status']}, not pending")
    return found


def _expire(ctx: AppContext) -> None:
    if ctx.store.read_only:
        return
    now = utc_now()
    with ctx.store.transaction():
        for (request_id,) in ctx.store.execute("SELECT request_id FROM promotion_requests WHERE status = 'pending' "
                                              "AND expires_at <= ?", [now]):
            _decide(ctx, int(request_id), "expired", "vigil", "not approved in time")


def _decide(ctx: AppContext, request_id: int, status: str, actor: str, decision: str) -> None:
    now = utc_now()
    found = ctx.store.row("SELECT model_name, version, status FROM promotion_requests WHERE request_id = ?",
                          [request_id])
    assert found is not None
    ctx.store.execute("UPDATE promotion_requests SET status = ?, decided_by = ?, decided_at = ?, decision = ? "
                      "WHERE request_id = ?", [status, actor, now, decision, request_id])
    q.insert_audit(ctx.store, now, actor, f"promotion.{status}", found["model_name"], found["version"],
                   {"request_id": request_id, "decision": decision},
                   subject=f"promotion:{request_id}", before={"status": found["status"]}, after={"status": status},
                   reason=decision)


def _no_users(ctx: AppContext) -> bool:
    return not ctx.store.scalar("SELECT count(*) FROM users WHERE revoked_at IS NULL")
