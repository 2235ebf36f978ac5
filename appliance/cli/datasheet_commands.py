"""How `vigil datasheet show|edit|regenerate` and `vigil score` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def show_datasheet(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else result["markdown"].rstrip())
    return 0


def show_datasheet_edit(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"datasheet of snapshot {result['snapshot']['snapshot_id'][:16]} updated")
    return 0


def show_datasheet_regenerate(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"profiled {len(result['profiled'])} snapshot(s)")
    return 0


def show_score(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['batch_id']}: {result['scored']} of {result['rows']} rows scored by {result['model']} "
         f"v{result['version']} into {result['output']} ({result['rows_per_s']:,.0f} rows/s)")
    if result["rejected"]:
        emit(f"  {result['rejected']} rows refused by the contract, with their reasons, in {result['rejects']}")
    return 0
