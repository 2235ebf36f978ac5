"""`vigil report` (write a model's HTML report) and `vigil reports` (the reports written)."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.backend import call_object
from appliance.cli.output import dict_table, emit, to_json


def cmd_report(args: argparse.Namespace) -> int:
    result = call_object(args.home, "report", {"name": args.name, "window": args.window,
                                               "out": str(Path(args.out).resolve()) if args.out else None})
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"report {result['report_id']}: {result['model_name']} over {args.window} "
         f"({_minute(result['window_start'])} to {_minute(result['window_end'])} UTC) written to "
         f"{result['path']} ({result['bytes']:,} bytes)")
    return 0


def cmd_reports(args: argparse.Namespace) -> int:
    result = call_object(args.home, "reports", {"name": args.model, "limit": args.limit})
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
