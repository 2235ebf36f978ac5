"""How `vigil estimate` and `vigil estimates` print label-free performance estimates: one line per chunk
and metric, the estimate with its confidence band, the alert band, and the realized metric beside it
once enough labels came."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json

COLUMNS = ["chunk start", "rows", "labelled", "metric", "estimate", "band", "alert band", "alert", "realized"]


def show_estimate(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(_heading(result))
    emit(table(COLUMNS, _rows(result["chunks"])))
    return 0


def show_estimates(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    if not result["runs"]:
        emit(f"{result['model']}: no stored estimates (run `vigil estimate {result['model']}`)")
        return 0
    for run in result["runs"]:
        emit(f"run {run['run_id']}: {_heading({**run, 'model': run['model_name']})}")
        emit(table(COLUMNS, _rows(run["chunks"])))
    return 0


def _heading(run: dict[str, Any]) -> str:
    return (f"{run['model']} v{run['version']} ({run['method'].upper()}): {run['rows']} rows from "
            f"{_time(run['period_start'])} to {_time(run['period_end'])} by {run['axis']} time, chunks: "
            f"{run['chunking']}")


def _rows(chunks: list[dict[str, Any]]) -> list[list[Any]]:
    return [[_time(c["start"]), c["rows"], c["labelled_rows"], e["metric"], _number(e["estimate"]),
             _band(e["lower"], e["upper"]), _band(e["lower_threshold"], e["upper_threshold"]),
             "ALERT" if e["alert"] else "", _number(e["realized"])]
            for c in chunks for e in c["estimates"]]


def _time(value: Any) -> str:
    return str(value)[:16].replace("T", " ")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _band(low: float | None, high: float | None) -> str:
    return f"[{_number(low)}, {_number(high)}]" if low is not None or high is not None else "-"
