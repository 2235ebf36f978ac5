"""Scoring plans of scikit-learn pipelines: one-row latency in process, against the pipeline.

    .venv/bin/python bench/sklearn_plans.py [--calls N] [--repeats N] [--json]

Trains, on the shipped flights (sample_data/flights.parquet, January to June, the features of
sample_data/flight_delay.toml), Vigil's own pipelines for `logistic_regression` (median imputation and
StandardScaler for numbers, "__missing__" and a OneHotEncoder with infrequent categories for
categories) and `random_forest` (100 trees, max_depth 10, the same one-hot encoding), compiles each to
its scoring plan and checks that it answers exactly as scikit-learn on every benchmark row, scored one
at a time (reported). Then, in this one process, one-row calls on `--calls` (500) July flights,
missing values included, in turns per repeat (`--repeats`, 5): the plan on the request's `Inputs`
(as the daemon calls it) and the pipeline's `predict_proba` on a one-row frame (what `vigil up` runs
without a plan). Every call is timed alone; the figures are median and p99. Exits 0 whatever the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # as `vigil up` starts (appliance/core/threads.py)

from appliance.contracts.features import features_from, model_input  # noqa: E402
from appliance.core.inputs import Inputs  # noqa: E402
from flight_pipelines import fitted_with_plan  # noqa: E402

DATA = ROOT / "sample_data" / "flights.parquet"
KINDS = {"logistic_regression": "{ C = 1.0 }", "random_forest": "{ n_estimators = 100, max_depth = 10 }"}


def _case(kind: str, flights: pl.DataFrame, calls: int) -> dict[str, Any]:
    spec, features, train, model, plan = fitted_with_plan(kind, KINDS[kind], flights)
    rows = model_input(flights.filter(pl.col("month") == 7).sample(calls, seed=7), features)
    frames = [rows.slice(i, 1) for i in range(rows.height)]
    singles = [Inputs.from_polars(f, features) for f in frames]
    exact = all(np.array_equal(plan(s), model.predict_proba(f)) for s, f in zip(singles, frames))
    exact = exact and bool(np.array_equal(plan(Inputs.from_polars(rows, features)), model.predict_proba(rows)))
    return {"kind": kind, "model": model, "plan": plan, "singles": singles, "frames": frames, "exact": exact,
            "missing_rows": int(rows.null_count().sum_horizontal()[0]), "times": {"plan": [], "pipeline": []}}


def _run(cases: list[dict[str, Any]], repeats: int) -> None:
    for c in cases:  # warm-up
        for i in range(20):
            c["plan"](c["singles"][i])
            c["model"].predict_proba(c["frames"][i])
    for _ in range(repeats):
        for c in cases:
            for engine, call, args in (("plan", c["plan"], c["singles"]),
                                       ("pipeline", c["model"].predict_proba, c["frames"])):
                for arg in args:
                    started = time.perf_counter_ns()
                    call(arg)
                    c["times"][engine].append(time.perf_counter_ns() - started)


def _summary(c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c["kind"], "exact": c["exact"]}
    for engine, times in c["times"].items():
        us = np.asarray(times, dtype=np.float64) / 1000
        out[f"{engine}_median_us"], out[f"{engine}_p99_us"] = float(np.median(us)), float(np.percentile(us, 99))
    out["plan_vs_pipeline"] = out["plan_median_us"] / out["pipeline_median_us"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    flights = pl.read_parquet(DATA)
    cases = [_case(kind, flights, args.calls) for kind in KINDS]
    _run(cases, args.repeats)
    results, load = [_summary(c) for c in cases], os.getloadavg()
    if args.json:
        print(json.dumps({"results": results, "load_average": load}, indent=2))
        return 0
    print(f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()}, CPython {platform.python_version()}, "
          f"{args.calls} one-row calls x {args.repeats} repeats; load average after: {load[0]:.2f} {load[1]:.2f}")
    print(f"{'estimator':20} {'exact':>5} {'plan med/p99 us':>16} {'pipeline med/p99 us':>20} {'plan/pipe':>9}")
    for r in results:
        print(f"{r['kind']:20} {str(r['exact']):>5} {r['plan_median_us']:8.1f}/{r['plan_p99_us']:<7.1f} "
              f"{r['pipeline_median_us']:10.1f}/{r['pipeline_p99_us']:<9.1f} {r['plan_vs_pipeline']:8.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
