"""`vigil up`."""

from __future__ import annotations

import argparse
import os


def cmd_up(args: argparse.Namespace) -> int:
    # One OpenMP/BLAS thread per predict: on two cores, threads per call oversubscribe under load.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from appliance.daemon.runtime import serve
    from appliance.home import resolve_home

    return serve(resolve_home(args.home), args.host, args.port)
