"""`vigil datasheet show|edit|regenerate`."""

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
