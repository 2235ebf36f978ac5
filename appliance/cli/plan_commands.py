"""How `vigil plan export` prints its operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def show_plan_export(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else
         f"{result['model']} v{result['version']}'s scoring plan written to {result['directory']}, signed with key "
         f"{result['key_id']}; load it with load_plan(DIR, trusted_key=\"{result['public_key']}\")")
    return 0
