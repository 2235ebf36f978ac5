"""How `vigil slo` and `vigil doctor` print their operation's result."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from appliance.cli.output import emit, printable, table, to_json


def show_slo(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    if not result["models"]:
        emit("no served models; objectives apply to a model with a champion")
    for model in result["models"]:
        emit(f"{model['model']}  owner: {printable(model['owner'] or 'none (vigil doctor)')}")
        emit(table(["objective", "target", "window", "value", "bad/total", "budget left", "burn", "runs out"],
                   [_row(o) for o in model["objectives"]]))
        for objective in model["objectives"]:
            for burn in objective["burns"]:
                if burn["firing"]:
                    emit(f"  {objective['objective']}: {burn['severity']} burn over {burn['windows']}: "
                         f"{_burn(burn['long_burn'])} and {_burn(burn['short_burn'])}, above {burn['threshold']:g}x")
    return 0


def _row(objective: dict[str, Any]) -> list[Any]:
    value = objective["value"]
    left = objective["budget_left"]
    return [objective["objective"], f"{objective['target'] * 100:.6g}%", _span(objective["window"]),
            "-" if value is None else f"{value:.4%}", f"{objective['bad']}/{objective['total']}",
            "-" if left is None else f"{left:.1%}", _burn(objective["burn_rate"]), _runs_out(objective)]


def _burn(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.3g}x"


def _runs_out(objective: dict[str, Any]) -> str:
    left, runs_out = objective["budget_left"], objective["exhausted_in"]
    if left is None:
        return "no data"
    if left <= 0:
        return "spent"
    if objective["burn_rate"] is None:
        return "too few events now"  # fewer than min_requests (min_checks) in the rate's span
    return "never at this rate" if runs_out is None else "in " + _span(runs_out)


def _span(span: timedelta | float) -> str:
    from appliance.monitoring.slo_math import describe_span

    return describe_span(span if isinstance(span, timedelta) else timedelta(seconds=float(span)))


def show_doctor(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    elif result["ok"]:
        emit(f"ok: {result['models']} model(s), each with an owner; no owner or objective names an unknown model; "
             "every burn-rate metric has a rule")
    else:
        for finding in result["findings"]:
            emit(f"{finding['check']}: {printable(finding['problem'])}")
    return 0 if result["ok"] else 1
