"""How `vigil report` (write a model's HTML report) and `vigil reports` (the reports written) print their
operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import dict_table, emit, to_json


def show_report(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"report {result['report_id']}: {result['model_name']} over {args.window} "
         f"({_minute(result['window_start'])} to {_minute(result['window_end'])} UTC) written to "
         f"{result['path']} ({result['bytes']:,} bytes)")
    return 0


def show_reports(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [{**r, "window": f"{_minute(r['window_start'])} .. {_minute(r['window_end'])}",
             "written": _minute(r["created_at"]), "file": r["path"] if r["exists"] else f"{r['path']} (gone)"}
            for r in result["reports"]]
    emit(dict_table(rows, ["report_id", "model_name", "window", "trigger", "written", "created_by", "file"])
         if rows else "no report written yet (vigil report NAME --out FILE.html)")
    return 0


def _minute(value: object) -> str:
    return str(value).replace("T", " ")[:16]  # a datetime here, ISO text through the daemon
