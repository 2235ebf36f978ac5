"""`vigil demo`."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DEMO_HOME = "vigil-demo"


def cmd_demo(args: argparse.Namespace) -> int:
    from appliance.demo import run_demo

    run_demo(Path(args.home or DEFAULT_DEMO_HOME).expanduser().resolve(), fast=args.fast)
    return 0
