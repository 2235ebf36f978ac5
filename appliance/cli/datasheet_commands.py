"""`vigil datasheet show|edit|regenerate` and `vigil score`."""

from __future__ import annotations

import argparse

from appliance.cli.backend import call_object
from appliance.cli.output import emit, to_json


def cmd_datasheet_show(args: argparse.Namespace) -> int:
    result = call_object(args.home, "datasheet", {"ref": args.ref, "version": args.version})
    emit(to_json(result) if args.json else result["markdown"].rstrip())
    return 0


def cmd_datasheet_edit(args: argparse.Namespace) -> int:
    result = call_object(args.home, "datasheet_edit", {"ref": args.ref, "version": args.version,
                                            "collection": args.collection, "limitations": args.limitations})
    emit(to_json(result) if args.json else f"datasheet of snapshot {result['snapshot']['snapshot_id'][:16]} updated")
    return 0


def cmd_datasheet_regenerate(args: argparse.Namespace) -> int:
    result = call_object(args.home, "datasheet_regenerate", {"ref": args.ref})
    emit(to_json(result) if args.json else f"profiled {len(result['profiled'])} snapshot(s)")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    payload = {"name": args.name, "input": str(Path(args.input).resolve()) if args.input else None,
               "query": args.query, "output": str(Path(args.output).resolve()),
               "rejects": str(Path(args.rejects).resolve()) if args.rejects else None, "version": args.version}
    result = call_object(args.home, "score", payload)
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['batch_id']}: {result['scored']} of {result['rows']} rows scored by {result['model']} "
         f"v{result['version']} into {result['output']} ({result['rows_per_s']:,.0f} rows/s)")
    if result["rejected"]:
        emit(f"  {result['rejected']} rows refused by the contract, with their reasons, in {result['rejects']}")
    return 0
