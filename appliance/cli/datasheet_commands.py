"""How `vigil datasheet show|edit|regenerate` print their operation's result."""

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

