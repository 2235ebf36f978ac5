"""An exported scoring plan's rows per second on one core, against the pipeline's `predict_proba`.

    .venv/bin/python bench/plan_rows.py [--rows N] [--repeats N] [--kinds a,b] [--json]

Trains, on the shipped flights (sample_data/flights.parquet, January to June, the features of
sample_data/flight_delay.toml), Vigil's own pipelines of each kind (`--kinds`, default
hist_gradient_boosting, xgboost, logistic_regression, random_forest), compiles each to its scoring
plan, and wraps it as `load_plan` does (`PortablePlan`, with the contract inferred from the training
rows). The process is pinned to one CPU (`sched_setaffinity`) with every library on one thread. Then,
per repeat (`--repeats`, 3), in turns on the same `--rows` (all July to December flights) rows:

- plan: `PortablePlan.score(table, with_inputs=False)` on a pyarrow Table: the contract's checks, the
  plan, the answer columns (what a cluster job calls per batch);
- plan (model only): the plan alone on the checked rows' `Inputs`;
- pipeline: `predict_proba` on the same rows as a polars frame (what `vigil score` runs), and the
  contract's checks are not counted for it.

Reported: the best repeat's rows/s of each, and plan / pipeline. Checks first that the plan's scores
equal the pipeline's, bit for bit. Exits 0 whatever the result.
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

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # one core, for the plan and the library alike

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.contracts.contract import infer_contract  # noqa: E402
from appliance.contracts.features import features_from, model_input  # noqa: E402
from appliance.plans.batch_checks import Policy  # noqa: E402
from appliance.plans.portable import PortablePlan  # noqa: E402
from flight_pipelines import fitted_with_plan  # noqa: E402

DATA = ROOT / "sample_data" / "flights.parquet"
KINDS = {"hist_gradient_boosting": "{ max_iter = 100 }", "xgboost": "{ n_estimators = 100 }",
         "logistic_regression": "{ C = 1.0 }", "random_forest": "{ n_estimators = 100, max_depth = 10 }"}


def _case(kind: str, flights: pl.DataFrame, rows: int) -> dict[str, Any]:
    spec, features, train, model, plan = fitted_with_plan(kind, KINDS[kind], flights)
    contract = infer_contract(model_input(train, features), features)
    portable = PortablePlan(model="flight_delay", version=1, task="binary", threshold=0.5, classes=(),
                            features=tuple(features), contract=contract.model_dump(mode="json")["columns"],
                            contract_revision=1, policy=Policy("flag", "flag"), lineage={}, key_id="", plan=plan)
    later = flights.filter(pl.col("month") > 6).head(rows)
    frame = model_input(later, features)
    table = later.select([f.name for f in features]).to_arrow()
    scored = portable.score(table, with_inputs=False)
    answered = np.asarray(scored.column("rejected").to_numpy(zero_copy_only=False)) == False  # noqa: E712
    expected = np.asarray(model.predict_proba(frame))[:, 1]
    exact = bool(np.array_equal(scored.column("score").to_numpy(zero_copy_only=False)[answered], expected[answered]))
    return {"kind": kind, "rows": later.height, "model": model, "portable": portable, "table": table, "frame": frame,
            "inputs": _checked_inputs(portable, table), "exact": exact, "times": {}}


def _checked_inputs(portable: PortablePlan, table: Any) -> Any:
    from appliance.plans import batch_columns
    from appliance.plans.batch_checks import check_rows

    return check_rows(lambda name: batch_columns.read_column(table, name), table.num_rows, portable.features,
                      portable.contract, portable.policy)


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _run(cases: list[dict[str, Any]], repeats: int) -> None:
    for _ in range(repeats):
        for c in cases:
            runs = {"plan": lambda: c["portable"].score(c["table"], with_inputs=False),
                    "plan_model_only": lambda: c["portable"]._output(c["inputs"]),
                    "pipeline": lambda: c["model"].predict_proba(c["frame"])}
            for engine, call in runs.items():
                c["times"].setdefault(engine, []).append(_timed(call))


def _summary(c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": c["kind"], "rows": c["rows"], "exact": c["exact"]}
    for engine, times in c["times"].items():
        out[f"{engine}_rows_per_s"] = c["rows"] / min(times)
    out["plan_vs_pipeline"] = out["plan_rows_per_s"] / out["pipeline_rows_per_s"]
    out["model_only_vs_pipeline"] = out["plan_model_only_rows_per_s"] / out["pipeline_rows_per_s"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    flights = pl.read_parquet(DATA)
    cases = [_case(kind, flights, args.rows) for kind in args.kinds.split(",")]
    _run(cases, args.repeats)
    results, load = [_summary(c) for c in cases], os.getloadavg()
    if args.json:
        print(json.dumps({"results": results, "load_average": load}, indent=2))
        return 0
    print(f"{platform.system()} {platform.machine()}, one core of {os.cpu_count()}, CPython "
          f"{platform.python_version()}, NumPy {np.__version__}; best of {args.repeats}; load average after: "
          f"{load[0]:.2f} {load[1]:.2f}")
    print(f"{'estimator':24} {'rows':>6} {'exact':>5} {'plan rows/s':>12} {'model only':>11} {'pipeline':>10} "
          f"{'plan/pipe':>9} {'model/pipe':>10}")
    for r in results:
        print(f"{r['kind']:24} {r['rows']:6d} {str(r['exact']):>5} {r['plan_rows_per_s']:12,.0f} "
              f"{r['plan_model_only_rows_per_s']:11,.0f} {r['pipeline_rows_per_s']:10,.0f} "
              f"{r['plan_vs_pipeline']:8.2f}x {r['model_only_vs_pipeline']:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
