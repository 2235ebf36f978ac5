"""What `vigil log import` prints."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def show_log_import(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    run = f"{result['run_id']} ({result['model']} v{result['version']})"
    if result["already_imported"]:
        emit(f"{run} was imported before; nothing added")
        return 0
    emit(f"{run}: {result['imported']:,} scored rows imported into the prediction log as request "
         f"{result['run_id']} ({result['rows_per_s'] or 0:,.0f} rows/s); {result['rejected']:,} refused rows stay in "
         "its rejects files")
    return 0
