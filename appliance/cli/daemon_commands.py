"""`vigil up` and `vigil tui`."""

from __future__ import annotations

import argparse
import os
import sys


def up(args: argparse.Namespace) -> int:
    from appliance.core.threads import limit_process

    limit_process()  # first: the OpenMP and BLAS runtimes read their limit when they load
    from appliance.daemon.runtime import serve
    from appliance.errors import VigilError
    from appliance.home import resolve_home

    try:
        code = serve(resolve_home(args.home), args.host, args.port)
    except VigilError as e:
        sys.stderr.write(f"vigil: error: {' '.join(str(e).split())}\n")
        code = 2
    # The store is checkpointed and closed; skip interpreter teardown, which would only race the
    # daemon's idle worker threads.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def tui(args: argparse.Namespace) -> int:
    from appliance.home import resolve_home

    home = resolve_home(args.home)
    home.require()
    if args.refresh <= 0:
        from appliance.errors import ConfigError

        raise ConfigError("--refresh must be a positive number of seconds, e.g. --refresh 2")
    from tui.app import run

    run(home, args.refresh, light=args.theme == "light")
    return 0
