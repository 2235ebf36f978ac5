"""Promotion requests: `vigil promote` asks; the release policy's gates decide whether it may; an
approver other than the requester approves when the release rules ask for it; the alias then moves
through `moves`, in the same transaction as the decision.

Four-eyes: the requester cannot approve their own request (the refusal is audited). Pending
requests expire after `expiry_hours`. While no users exist (a fresh, single-operator install) there
is only one identity on the machine, so a request that passes its gates is applied at once and its
decision says that approval was waived; once users exist, approval is required by the rules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.errors import Forbidden, ReleaseError
from appliance.release.gates import run_gates
from appliance.registry.versions import servable_version
from appliance.release import moves
from appliance.release.rules import approval_reasons, approval_waived
from appliance.store import registry_queries as q
from appliance.store import release_queries as rq

SYSTEM = "vigil"


def request_promotion(ctx: AppContext, model_name: str, version: int, alias: str, *, percent: float | None,
                      reason: str, actor: str, evidence: Iterable[dict[str, Any]] = (),
                      gates: bool = True) -> dict[str, Any]:
    """File a request; apply it at once when its gates pass and the rules ask for no approval.

    `evidence`: extra gate rows (a canary's analysis) stored and judged with the policy's gates;
    `gates=False` only for a retrain naming its challenger, which answers no traffic."""
    moves.check_alias(alias, percent)
    if not reason.strip():
        raise ReleaseError("a promotion needs a reason; pass --reason TEXT")
    servable_version(ctx.store, model_name, version)
    if moves.already_there(ctx.store, model_name, alias, version, percent):
        raise ReleaseError(f"v{version} is already {alias} of '{model_name}': there is nothing to request; "
                           + _instead(model_name, alias))
    policy = ctx.config.promotion.policy_for(model_name)
    checks = [*(run_gates(ctx, model_name, version, policy, alias) if gates else []), *evidence]
    failing = [g["gate"] for g in checks if not g["passed"]]
    needs = approval_reasons(ctx, model_name, version, alias, percent)
    waived = bool(needs) and approval_waived(ctx)
    now = utc_now()
    with ctx.store.transaction():
        request_id = rq.insert_request(ctx.store, model_name, version, alias, percent, reason.strip(), actor, now,
                                       now + timedelta(hours=policy.expiry_hours) if needs and not waived else None)
        for g in checks:
            rq.insert_evidence(ctx.store, request_id, g["gate"], g["passed"], g["value"], g["limit"], g["detail"])
        q.insert_audit(ctx.store, now, actor, "promotion.request", model_name, version,
                       {"request_id": request_id, "alias": alias, "reason": reason.strip(), "failing_gates": failing,
                        "approval_because": needs},
                       subject=f"promotion:{request_id}", after={"status": "evaluating", "alias": alias,
                                                                 "version": version, "percent": percent,
                                                                 "gates": {g["gate"]: g["passed"] for g in checks}},
                       reason=reason.strip())
        previous = None
        if failing:
            _decide(ctx, request_id, "rejected", SYSTEM, "failing gates: " + ", ".join(failing))
        elif needs and not waived:
            rq.set_status(ctx.store, request_id, "pending")
        else:
            previous = moves.apply(ctx.store, model_name, alias, version, actor=actor, reason=reason.strip(),
                                   percent=percent)
            _decide(ctx, request_id, "applied", actor, "approval waived: no users exist yet" if waived
                    else "no approval needed for this change")
    return {**show_request(ctx, request_id), "from_version": previous, "approval_because": needs}


def approve(ctx: AppContext, request_id: int, actor: str) -> dict[str, Any]:
    found = _pending(ctx, request_id)
    if found["requested_by"] == actor:
        with ctx.store.transaction():
            q.insert_audit(ctx.store, utc_now(), actor, "promotion.self_approval_refused", found["model_name"],
                           found["version"], {"request_id": request_id},
                           subject=f"promotion:{request_id}", before={"status": "pending"},
                           after={"status": "pending"}, reason="the requester cannot approve their own request")
        raise Forbidden(f"{actor} requested promotion {request_id} and cannot approve it; another approver must")
    if moves.already_there(ctx.store, found["model_name"], found["alias"], int(found["version"]), found["percent"]):
        raise ReleaseError(f"promotion request {request_id} cannot be approved: v{found['version']} became "
                           f"{found['alias']} of '{found['model_name']}' after it was requested, so approving it "
                           f"would change nothing; reject it: vigil reject {request_id} --reason "
                           f"\"already {found['alias']}\"")
    with ctx.store.transaction():
        previous = moves.apply(ctx.store, found["model_name"], found["alias"], int(found["version"]), actor=actor,
                               reason=f"{found['reason']} (requested by {found['requested_by']}, approved by {actor})",
                               percent=found["percent"])
        _decide(ctx, request_id, "approved", actor, "approved")
    return {**show_request(ctx, request_id), "from_version": previous}


def _instead(model_name: str, alias: str) -> str:
    """What to do instead of asking for a version its alias already points at."""
    if alias == "champion":
        return (f"to change the champion, promote another version (vigil versions {model_name} lists them); "
                f"to go back, vigil rollback {model_name} --reason TEXT")
    return f"to change the {alias}, promote another version (vigil versions {model_name} lists them)"


def reject(ctx: AppContext, request_id: int, actor: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ReleaseError("rejecting needs --reason TEXT")
    _pending(ctx, request_id)
    with ctx.store.transaction():
        _decide(ctx, request_id, "rejected", actor, reason.strip())
    return show_request(ctx, request_id)


def find_request(ctx: AppContext, request_id: int) -> dict[str, Any] | None:
    """The promotion request's row, or None: for readers outside the release package (the replay job)."""
    return rq.request(ctx.store, request_id)


def show_request(ctx: AppContext, request_id: int) -> dict[str, Any]:
    found = rq.request(ctx.store, request_id)
    if found is None:
        raise ReleaseError(f"no promotion request {request_id}; list them with `vigil requests --all`")
    return {**found, "gates": rq.evidence(ctx.store, request_id)}


def pending_for(ctx: AppContext, model_name: str, version: int, alias: str) -> int | None:
    """The pending request that would move `alias` to `version`, if one waits."""
    _expire(ctx)
    return rq.pending_request(ctx.store, model_name, version, alias)


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
    return rq.list_requests(ctx.store, include_decided)


def _pending(ctx: AppContext, request_id: int) -> dict[str, Any]:
    _expire(ctx)
    found = show_request(ctx, request_id)
    if found["status"] != "pending":
        raise ReleaseError(f"promotion request {request_id} is {found['status']}, not pending")
    return found


def _expire(ctx: AppContext) -> None:
    if ctx.store.read_only:
        return
    with ctx.store.transaction():
        for request_id in rq.overdue_requests(ctx.store, utc_now()):
            _decide(ctx, request_id, "expired", SYSTEM, "not approved in time")


def _decide(ctx: AppContext, request_id: int, status: str, actor: str, decision: str) -> None:
    now = utc_now()
    found = rq.request(ctx.store, request_id)
    assert found is not None
    rq.decide(ctx.store, request_id, status, actor, now, decision)
    q.insert_audit(ctx.store, now, actor, f"promotion.{status}", found["model_name"], found["version"],
                   {"request_id": request_id, "decision": decision},
                   subject=f"promotion:{request_id}", before={"status": found["status"]}, after={"status": status},
                   reason=decision)
