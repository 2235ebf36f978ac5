"""How `vigil labels load` prints its operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def show_labels_load(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    counts = ", ".join(f"{count:,} {status}" for status, count in result["counts"].items()) or "nothing"
    emit(f"{result['labels']:,} labels for {result['model']} (by {result['key']}): {counts} "
         f"in {result['seconds']:.2f} s ({result['labels_per_s']:,} labels/s)")
    return 0
