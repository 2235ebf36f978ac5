"""How `vigil requests show ID` prints a promotion request: its gates, the candidate's holdout metrics
beside the champion's, and its replay evidence."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json
from appliance.monitoring.replay_text import replay_lines


def show_request(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"request {result['request_id']}: {result['model_name']} v{result['version']} -> {result['alias']}, "
         f"{result['status']} (requested by {result['requested_by']} at {str(result['requested_at'])[:16]} UTC: "
         f"{result['reason']})")
    if result.get("decision"):
        emit(f"decision: {result['decision']} ({result.get('decided_by') or '-'})")
    if result["gates"]:
        emit(table(["gate", "result", "value", "limit", "detail"],
                   [[g["gate"], "ok" if g["passed"] else "FAILED", g["value"], g["limit_value"], g["detail"]]
                    for g in result["gates"]]))
    _holdout(result)
    emit("")
    for label, text in replay_lines(result["replay"]):
        emit(f"{label:<12} {text}")
    return 0


def _holdout(result: dict[str, Any]) -> None:
    candidate, champion = result["candidate_metrics"], result["champion_metrics"]
    names = sorted(set(candidate) | set(champion))
    if not names:
        return
    rows = [[name, candidate.get(name), champion.get(name),
             candidate[name] - champion[name] if candidate.get(name) is not None and champion.get(name) is not None
             else None] for name in names]
    emit(f"holdout metrics, candidate beside champion v{result['champion_version'] or '-'}:")
    emit(table(["metric", "candidate", "champion", "difference"], rows))
