"""Scoring plans of XGBoost, LightGBM and CatBoost models: one-row latency in process, against the library.

    make bench-booster-plans      (or: .venv/bin/python bench/booster_plans.py [--trees N] [--calls N]
                                       [--repeats N] [--json] [--markdown])

Trains one model of each flavour on the shipped flights (sample_data/flights.parquet, January to June,
the features of sample_data/flight_delay.toml) with Vigil's own pipeline for that estimator kind
(`appliance.training.pipeline`: 200 trees, one thread, seeded): XGBoost and LightGBM with the three
categorical features as the library's categoricals, CatBoost over the numeric features only (CatBoost
with categorical features has no plan; it is served by CatBoost). Each is compiled to its scoring
plan, which must answer exactly as the library on every benchmark row (checked, reported).

Then, in this one process, one-row calls on `--calls` (500) different July flights (missing values
included), for each flavour and engine, in turns: per repeat (`--repeats`, 5) every flavour's plan,
its library behind Vigil's pipeline (what `vigil up` runs without a plan: `predict_proba` on a one-row
frame) and the library's own predict on the already encoded row (the booster alone: XGBoost
`inplace_predict`, LightGBM `Booster.predict`, CatBoost `predict`), so a noisy spell of the shared
machine falls on all of them alike. Every call is timed alone (perf_counter_ns); the figures are the
median and p99 over all calls. Libraries run on one thread, as the daemon runs them. The plan is
called as the daemon calls it: on the request's `Inputs`, column selection and encoding included.
The goal is a plan median within 50 us; the load average is printed. Exits 0 whatever the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # as `vigil up` starts (appliance/core/threads.py)

from appliance.contracts.features import features_from, model_input  # noqa: E402
from appliance.plans.compile import explain_plan  # noqa: E402
from appliance.core.inputs import Inputs  # noqa: E402
from appliance.core.threads import pin_library_threads  # noqa: E402
from appliance.training.pipeline import build_pipeline, fit_params  # noqa: E402
from appliance.training.spec import parse_spec  # noqa: E402

DATA = ROOT / "sample_data" / "flights.parquet"
SPEC = ROOT / "sample_data" / "flight_delay.toml"
GOAL_US = 50.0
FLAVOURS = ("xgboost", "lightgbm", "catboost")


def _spec(kind: str, trees: int) -> Any:
    """The sample spec's model, features and seed, with this flavour's estimator (CatBoost: numbers only)."""
    sample = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    features = sample["features"]
    categorical = [] if kind == "catboost" else features["categorical"]
    count = "iterations" if kind == "catboost" else "n_estimators"
    text = (f'model = "{sample["model"]}"\ntask = "binary"\ntarget = "{sample["target"]}"\nseed = {sample["seed"]}\n'
            f'[source]\npath = "flights.parquet"\n[features]\nnumeric = {json.dumps(features["numeric"])}\n'
            f'categorical = {json.dumps(categorical)}\n[split]\ntime_column = "time_hour"\n'
            f'[estimator]\nkind = "{kind}"\nparams = {{ {count} = {trees} }}\n')
    return parse_spec(text).spec


def _flavour(kind: str, trees: int, flights: pl.DataFrame, calls: int) -> dict[str, Any]:
    spec = _spec(kind, trees)
    features = features_from(spec.features.numeric, spec.features.categorical)
    train = flights.filter(pl.col("month") <= 6)
    y = train[spec.target].cast(pl.Int8).to_numpy()
    started = time.perf_counter()
    model = build_pipeline(spec, features).fit(model_input(train, features), y, **fit_params(spec, features))
    trained_s = time.perf_counter() - started
    pin_library_threads(model)
    plan, why = explain_plan(model, features, "binary")
    if plan is None:
        raise SystemExit(f"{kind}: no plan ({why})")
    rows = model_input(flights.filter(pl.col("month") == 7).sample(calls, seed=7), features)
    expected = np.asarray(model.predict_proba(rows))
    exact = bool(np.array_equal(plan(Inputs.from_polars(rows, features)), expected))
    singles = [Inputs.from_polars(rows.slice(i, 1), features) for i in range(rows.height)]
    one_row_exact = all(np.array_equal(plan(s), expected[i:i + 1]) for i, s in enumerate(singles))
    frames = [rows.slice(i, 1) for i in range(rows.height)]
    encoded = np.asarray(model.steps[0][1].transform(rows), dtype=np.float64)
    booster = _booster_call(kind, model.steps[1][1])
    return {"kind": kind, "model": model, "plan": plan, "singles": singles, "frames": frames,
            "encoded": [encoded[i:i + 1] for i in range(len(encoded))], "booster": booster,
            "trees": trees, "nodes": int(len(plan.arrays["e.value"])), "depth": int(plan.arrays["e.depth"][0]),
            "exact": exact and one_row_exact, "missing_rows": int(rows.null_count().sum_horizontal()[0]),
            "train_s": trained_s, "times": {"plan": [], "pipeline": [], "library": []}}


def _booster_call(kind: str, estimator: Any) -> Callable[[np.ndarray], Any]:
    """The library's own predict on an encoded row, on one thread, without Vigil or scikit-learn."""
    if kind == "xgboost":
        booster = estimator.get_booster()
        booster.set_param({"nthread": 1})
        return lambda row: booster.inplace_predict(row)
    if kind == "lightgbm":
        booster = estimator.booster_
        return lambda row: booster.predict(row, num_threads=1)
    return lambda row: estimator.predict(row, prediction_type="Probability", thread_count=1)


def _time(calls: list[Callable[[], Any]], into: list[int]) -> None:
    for call in calls:
        started = time.perf_counter_ns()
        call()
        into.append(time.perf_counter_ns() - started)


def _run(flavours: list[dict[str, Any]], repeats: int) -> None:
    for f in flavours:  # warm-up: first calls build lookups and caches
        for i in range(20):
            f["plan"](f["singles"][i])
            f["model"].predict_proba(f["frames"][i])
            f["booster"](f["encoded"][i])
    for _ in range(repeats):
        for f in flavours:
            plan, model, booster = f["plan"], f["model"], f["booster"]
            _time([lambda s=s: plan(s) for s in f["singles"]], f["times"]["plan"])
            _time([lambda r=r: model.predict_proba(r) for r in f["frames"]], f["times"]["pipeline"])
            _time([lambda e=e: booster(e) for e in f["encoded"]], f["times"]["library"])


def _summary(f: dict[str, Any]) -> dict[str, Any]:
    stats = {}
    for engine, times in f["times"].items():
        us = np.asarray(times, dtype=np.float64) / 1000
        stats[engine] = {"median_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99)), "calls": len(us)}
    plan = stats["plan"]["median_us"]
    return {"flavour": f["kind"], "trees": f["trees"], "nodes": f["nodes"], "depth": f["depth"],
            "exact": f["exact"], **{f"{k}_{s}": v[s] for k, v in stats.items() for s in ("median_us", "p99_us")},
            "plan_vs_pipeline": plan / stats["pipeline"]["median_us"],
            "plan_vs_library": plan / stats["library"]["median_us"], "goal_us": GOAL_US,
            "result": "PASS" if plan <= GOAL_US else "FAIL"}


def _text(results: list[dict[str, Any]]) -> str:
    lines = [f"{'flavour':9} {'nodes':>6} {'depth':>5} {'exact':>5} {'plan med/p99 us':>16} "
             f"{'pipeline med/p99 us':>20} {'library med/p99 us':>19} {'plan/pipe':>9} {'plan/lib':>8} result"]
    for r in results:
        lines.append(f"{r['flavour']:9} {r['nodes']:6d} {r['depth']:5d} {str(r['exact']):>5} "
                     f"{r['plan_median_us']:8.1f}/{r['plan_p99_us']:<7.1f} "
                     f"{r['pipeline_median_us']:10.1f}/{r['pipeline_p99_us']:<9.1f} "
                     f"{r['library_median_us']:9.1f}/{r['library_p99_us']:<9.1f} "
                     f"{r['plan_vs_pipeline']:8.3f}x {r['plan_vs_library']:7.3f}x {r['result']}")
    return "\n".join(lines)


def _markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| flavour | nodes | depth | plan = library | plan median (us) | plan p99 (us) | pipeline median (us) "
             "| library alone median (us) | plan / pipeline | plan / library alone | goal (plan median) | result |",
             "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|---|---|"]
    for r in results:
        lines.append(f"| {r['flavour']} | {r['nodes']} | {r['depth']} | {'yes' if r['exact'] else 'NO'} | "
                     f"{r['plan_median_us']:.1f} | {r['plan_p99_us']:.1f} | {r['pipeline_median_us']:.1f} | "
                     f"{r['library_median_us']:.1f} | {r['plan_vs_pipeline']:.3f}x | {r['plan_vs_library']:.3f}x | "
                     f"<= {GOAL_US:.0f} us | {r['result']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    flights = pl.read_parquet(DATA)
    flavours = [_flavour(kind, args.trees, flights, args.calls) for kind in FLAVOURS]
    _run(flavours, args.repeats)
    results = [_summary(f) for f in flavours]
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"results": results, "load_average": load}, indent=2))
        return 0
    print(f"{platform.system()} {platform.machine()}, nproc {os.cpu_count()}, CPython {platform.python_version()}, "
          f"{args.calls} one-row calls x {args.repeats} repeats per flavour and engine; "
          f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(_markdown(results) if args.markdown else _text(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
