"""How `vigil promote`, `approve`, `reject`, `requests` and `rollback` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json


def show_rollback(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['model']}: champion rolled back v{result['from_version']} -> v{result['to_version']} "
         f"({result['why']})")
    for check in result.get("preflight", []):
        emit(f"  pre-flight {check['check']}: {'ok' if check['ok'] else 'not checked'} - {check['detail']}")
    return 0


def show_requests(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[r["request_id"], r["status"], r["model_name"], r["version"], r["alias"], r["requested_by"],
             str(r["requested_at"])[:16], r["decided_by"] or "", (r["decision"] or "")[:50]] for r in result["requests"]]
    emit(table(["id", "status", "model", "version", "alias", "by", "requested", "decided by", "decision"], rows)
         if rows else "no pending promotion requests")
    return 0


def show_promote(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    else:
        emit_request(result)
    return 1 if result["status"] == "rejected" else 0


def emit_request(result: dict[str, Any]) -> None:
    """One line for the outcome of a promotion request, then its failing gates."""
    name, alias, version = result["model_name"], result["alias"], result["version"]
    if result["status"] in ("applied", "approved"):
        previous = result.get("from_version")
        share = f" ({result['percent']:g}% of requests)" if result.get("percent") is not None else ""
        emit(f"{name}: {alias} v{previous if previous is not None else '-'} -> v{version}{share} "
             f"(request {result['request_id']}: {result['decision']})")
    elif result["status"] == "pending":
        because = "; ".join(result.get("approval_because") or [])
        emit(f"request {result['request_id']}: {name} v{version} -> {alias} passed its gates and waits for an "
             f"approver (vigil approve {result['request_id']}; expires {str(result['expires_at'])[:16]} UTC)"
             + (f"; approval needed because {because}" if because else ""))
    else:
        emit(f"request {result['request_id']}: {name} v{version} -> {alias} {result['status']}: {result['decision']}")
    for gate in result.get("gates", []):
        if not gate["passed"]:
            emit(f"  failed {gate['gate']}: {gate['detail']}")


def show_decision(result: Any, args: argparse.Namespace) -> int:
    """An approved or rejected promotion request (`vigil approve`, `vigil reject`)."""
    emit(to_json(result)) if args.json else emit_request(result)
    return 0
