"""`vigil datasheet show|edit|regenerate` and `vigil score`."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def _call(args: argparse.Namespace, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    from appliance.cli.backend import call_object

    return call_object(args.home, name, payload)


def cmd_datasheet_show(args: argparse.Namespace) -> int:
    result = _call(args, "datasheet", {"ref": args.ref, "version": args.version})
    emit(to_json(result) if args.json else result["markdown"].rstrip())
    return 0


def cmd_datasheet_edit(args: argparse.Namespace) -> int:
    result = _call(args, "datasheet_edit", {"ref": args.ref, "version": args.version,
                                            "collection": args.collection, "limitations": args.limitations})
    emit(to_json(result) if args.json else f"datasheet of snapshot {result['snapshot']['snapshot_id'][:16]} updated")
    return 0


def cmd_datasheet_regenerate(args: argparse.Namespace) -> int:
    result = _call(args, "datasheet_regenerate", {"ref": args.ref})
    emit(to_json(result) if args.json else f"profiled {len(result['profiled'])} snapshot(s)")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    payload = {"name": args.name, "input": str(Path(args.input).resolve()) if args.input else None,
               "query": args.query, "output": str(Path(args.output).resolve()),
               "rejects": str(Path(args.rejects).resolve()) if args.rejects else None, "version": args.version}
    result = _call(args, "score", payload)
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['batch_id']}: {result['scored']} of {result['rows']} rows scored by {result['model']} "
         f"v{result['version']} into {result['output']} ({result['rows_per_s']:,.0f} rows/s)")
    if result["rejected"]:
        emit(f"  {result['rejected']} rows refused by the contract, with their reasons, in {result['rejects']}")
    return 0
