"""`vigil demo`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DEMO_HOME = "vigil-demo"


def demo(args: argparse.Namespace) -> int:
    from appliance.demo.story import run_demo

    # In a terminal the daemon is left running for `vigil tui` until Ctrl-C; without one (a pipe,
    # CI, a test) it stops at the end.
    keep = sys.stdin.isatty() and sys.stdout.isatty()
    run_demo(Path(args.home or DEFAULT_DEMO_HOME).expanduser().resolve(), fast=args.fast, keep_running=keep)
    return 0
