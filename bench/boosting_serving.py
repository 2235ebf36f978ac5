"""Serving benchmark for boosting models: Vigil against `mlflow models serve`, per library, same trees, same run.

    make bench-boosting            (or: .venv/bin/python bench/boosting_serving.py [--seconds 10] [--markdown])

For each of XGBoost, LightGBM and CatBoost, trains a 200-tree binary model with the library's own API
on the sample flights (January-June, the flight-delay spec's 15 features), saves it in the library's
own file format, and serves that one file twice: imported into Vigil (`vigil import`, promoted to
champion, `vigil up`) and saved with MLflow's own flavour of the library (`mlflow.xgboost`,
`mlflow.lightgbm`, `mlflow.catboost`, from .bench-venv) for `mlflow models serve`. Both get the same
one-row `dataframe_records` body on `/invocations`.

The categorical features (carrier, origin, dest) travel as integer codes: MLflow's XGBoost and
LightGBM flavours hand the request's frame to the library as it is, and neither library takes text
columns, so a team serving with MLflow sends codes. Vigil is told the same codes are its categories
(`[encoding] categories`), so both servers run the identical trees on the identical input.

All six servers run side by side (one Vigil home per model, since `/invocations` serves a home's
only model) and take turns: at each level (1 and 16 connections) each repeat drives every server
once, and each figure is the median of a server's repeats. An idle server uses no CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import (LUA, PEER_PYTHON, ROOT, VIGIL, engines, median_of, start_mlflow, start_vigil,  # noqa: E402
                     stop, wrk)

LIBRARIES = ("xgboost", "lightgbm", "catboost")
FILES = {"xgboost": "model.json", "lightgbm": "model.txt", "catboost": "model.cbm"}
NUMERIC = ["sched_dep_time", "sched_arr_time", "distance", "day_of_week", "temp", "dewp", "humid", "wind_dir",
           "wind_speed", "precip", "pressure", "visib"]
CATEGORICAL = ["carrier", "origin", "dest"]
TREES, LEARNING_RATE, LEAVES, SEED = 200, 0.08, 31, 13
SAVE_MLFLOW_MODEL = """
import sys
library, source, target = sys.argv[1:]
if library == "xgboost":
    import mlflow.xgboost, xgboost
    booster = xgboost.Booster()
    booster.load_model(source)
    mlflow.xgboost.save_model(booster, target)
elif library == "lightgbm":
    import lightgbm, mlflow.lightgbm
    mlflow.lightgbm.save_model(lightgbm.Booster(model_file=source), target)
else:
    import catboost, mlflow.catboost
    mlflow.catboost.save_model(catboost.CatBoostClassifier().load_model(source), target)
"""
SPEC = """model = "{name}"
task = "binary"
target = "delayed"
positive_class = true
seed = {seed}

[source]
query = "SELECT * FROM 'flights_coded.parquet' WHERE time_hour < TIMESTAMP '2013-07-01'"

[features]
numeric = {numeric}
categorical = {categorical}

[split]
time_column = "time_hour"
holdout_fraction = 0.2

[estimator]
kind = "{library}"

[encoding]
categories = {{ {categories} }}
"""


def coded_flights(work: Path) -> tuple[Any, dict[str, list[str]]]:
    """The sample flights with complete features, each categorical replaced by its code in sorted order."""
    import polars as pl

    frame = pl.read_parquet(ROOT / "sample_data" / "flights.parquet").drop_nulls([*NUMERIC, *CATEGORICAL, "delayed"])
    categories: dict[str, list[str]] = {}
    for column in CATEGORICAL:
        values = sorted(frame[column].unique().to_list())
        categories[column] = [str(code) for code in range(len(values))]
        frame = frame.with_columns(pl.col(column).replace_strict(values, list(range(len(values))),
                                                                 return_dtype=pl.Int64))
    frame = frame.with_columns(pl.col(NUMERIC).cast(pl.Float64))
    frame.write_parquet(work / "flights_coded.parquet")
    return frame, categories


def train_native(library: str, frame: Any, path: Path) -> None:
    """Fit 200 trees with the library's own API (one thread, seeded) and save its own file format."""
    import numpy as np
    import polars as pl

    train = frame.filter(pl.col("time_hour") < pl.datetime(2013, 7, 1))
    features = train.select([*NUMERIC, *CATEGORICAL]).to_numpy().astype(np.float64)
    labels = train["delayed"].cast(pl.Int64).to_numpy()
    names, cats = [*NUMERIC, *CATEGORICAL], list(range(len(NUMERIC), len(NUMERIC) + len(CATEGORICAL)))
    if library == "xgboost":
        import xgboost

        data = xgboost.DMatrix(features, labels, feature_names=names, enable_categorical=True,
                               feature_types=["float"] * len(NUMERIC) + ["c"] * len(CATEGORICAL))
        params = {"objective": "binary:logistic", "tree_method": "hist", "eta": LEARNING_RATE, "max_leaves": LEAVES,
                  "max_depth": 0, "grow_policy": "lossguide", "nthread": 1, "seed": SEED}
        xgboost.train(params, data, num_boost_round=TREES).save_model(str(path))
    elif library == "lightgbm":
        import lightgbm

        data = lightgbm.Dataset(features, labels, feature_name=names, categorical_feature=cats)
        params = {"objective": "binary", "learning_rate": LEARNING_RATE, "num_leaves": LEAVES, "num_threads": 1,
                  "seed": SEED, "deterministic": True, "force_row_wise": True, "verbose": -1}
        lightgbm.train(params, data, num_boost_round=TREES).save_model(str(path))
    else:
        import catboost

        import pandas as pd

        pool_frame = pd.DataFrame({name: train[name].to_numpy() for name in [*NUMERIC, *CATEGORICAL]})
        model = catboost.CatBoostClassifier(iterations=TREES, learning_rate=LEARNING_RATE, thread_count=1,
                                            random_seed=SEED, verbose=0, allow_writing_files=False)
        model.fit(pool_frame, labels, cat_features=CATEGORICAL)
        model.save_model(str(path))


def prepare(work: Path) -> tuple[dict[str, tuple[Path, Path]], dict[str, object]]:
    """Per library: a Vigil home with the imported file as champion, and the MLflow model of the same file."""
    frame, categories = coded_flights(work)
    row = frame.filter(frame["month"] == 8).row(0, named=True)
    record = {name: row[name] for name in [*NUMERIC, *CATEGORICAL]}
    listed = ", ".join(f"{name} = {json.dumps(values)}" for name, values in categories.items())
    prepared: dict[str, tuple[Path, Path]] = {}
    for library in LIBRARIES:
        model_file = work / f"{library}-{FILES[library]}"
        train_native(library, frame, model_file)
        name = f"flights_{library}"
        spec = work / f"{library}.toml"
        spec.write_text(SPEC.format(name=name, seed=SEED, numeric=json.dumps(NUMERIC),
                                    categorical=json.dumps(CATEGORICAL), library=library, categories=listed))
        home = work / f"home-{library}"
        vigil = lambda *a: subprocess.run([str(VIGIL), *a, "--home", str(home)], check=True,  # noqa: E731
                                          capture_output=True, text=True)
        vigil("init")
        vigil("import", name, str(model_file), "--spec", str(spec), "--reason", "benchmark")
        vigil("promote", name, "1", "--to", "champion", "--reason", "benchmark")
        mlflow_dir = work / f"mlflow-{library}"
        subprocess.run([str(PEER_PYTHON), "-c", SAVE_MLFLOW_MODEL, library, str(model_file), str(mlflow_dir)],
                       check=True, capture_output=True)
        prepared[library] = (home, mlflow_dir)
    return prepared, record


def answer(url: str, body: bytes) -> object:
    """One request's answer, to show both servers ran the same model on the same row."""
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def measure(seconds: int, levels: list[int], repeats: int) -> dict[str, Any]:
    if shutil.which("wrk") is None or not PEER_PYTHON.exists():
        raise RuntimeError("needs wrk (apt-get install wrk) and .bench-venv (make bench-boosting builds it)")
    work = Path(tempfile.mkdtemp(prefix="vigil-boosting-bench-"))
    load_before = os.getloadavg()[0]
    started: list[tuple[Any, bool]] = []
    try:
        prepared, record = prepare(work)
        body = work / "body.json"
        body.write_text(json.dumps({"dataframe_records": [record]}))
        script = work / "post.lua"
        script.write_text(LUA)
        servers: dict[tuple[str, str], tuple[str, float]] = {}
        served: dict[str, list[list[object]]] = {}
        answers: dict[str, dict[str, object]] = {}
        for library, (home, mlflow_dir) in prepared.items():
            for side, starter in (("vigil", lambda: start_vigil(home, None)),
                                  ("mlflow", lambda: start_mlflow(mlflow_dir))):
                process, url, cold = starter()  # one at a time, so each cold start has the machine to itself
                started.append((process, side == "mlflow"))
                servers[(library, side)] = (url, cold)
                answers.setdefault(library, {})[side] = answer(url, body.read_bytes())
                wrk(url + "/invocations", 4, 2, body, script)  # warm-up
            served[library] = engines(home, servers[(library, "vigil")][0])
        runs: dict[tuple[str, str], dict[str, list[dict[str, float]]]] = {
            key: {str(c): [] for c in levels} for key in servers}
        for c in levels:
            for _ in range(repeats):
                for key, (url, _cold) in servers.items():
                    runs[key][str(c)].append(wrk(url + "/invocations", c, seconds, body, script))
        results = {library: {side: {"cold_start_s": servers[(library, side)][1],
                                    "load": {level: median_of(r) for level, r in runs[(library, side)].items()}}
                             for side in ("vigil", "mlflow")} for library in LIBRARIES}
        return {"seconds_per_level": seconds, "repeats": repeats, "record": record, "answers": answers,
                "engines": served, "results": results, "machine": {"nproc": os.cpu_count(), "load_average_1m": [load_before, os.getloadavg()[0]]}}
    finally:
        for process, group in started:
            stop(process, group=group)
        shutil.rmtree(work, ignore_errors=True)


def ratios(result: dict[str, Any], level: str) -> tuple[float, float]:
    """Vigil's req/s over MLflow's, and Vigil's p99 over MLflow's, at one level."""
    ours, peer = result["vigil"]["load"][level], result["mlflow"]["load"][level]
    return ours["rps"] / peer["rps"], ours["p99_ms"] / peer["p99_ms"]


def paired(result: dict[str, Any]) -> tuple[str, int, int]:
    """Each repeat's c16 ratios against the MLflow run right after it, and how many met both goals."""
    ours, peer = result["vigil"]["load"]["16"], result["mlflow"]["load"]["16"]
    pairs = [(a / b, c / d) for a, b, c, d in zip(ours["rps_runs"], peer["rps_runs"], ours["p99_ms_runs"],
                                                  peer["p99_ms_runs"])]
    met = sum(1 for rps, p99 in pairs if rps >= 10 and p99 <= 0.1)
    return ", ".join(f"{rps:.1f}x/{p99:.2f}x" for rps, p99 in pairs), met, len(pairs)


def engine_of(data: dict[str, Any], library: str) -> str:
    return ", ".join(str(row[-1]) for row in data["engines"][library]) or "unknown"


def report(data: dict[str, Any]) -> str:
    lines = [f"{'library':<9} {'server':<7} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
             f"{'cold s':>7}"]
    for library, result in data["results"].items():
        for side, run in result.items():
            for level, load in run["load"].items():
                lines.append(f"{library:<9} {side:<7} {level:>5} {load['rps']:>9.1f} {load['p50_ms']:>8.2f} "
                             f"{load['p99_ms']:>8.2f} {load['non_2xx'] + load['socket_errors']:>7} "
                             f"{run['cold_start_s']:>7.2f}")
    for library, result in data["results"].items():
        rps, p99 = ratios(result, "16")
        shown, met, total = paired(result)
        lines.append(f"{library}: c16 {rps:.1f}x MLflow's req/s (goal >= 10x: {'met' if rps >= 10 else 'not met'}), "
                     f"p99 {p99:.2f}x (goal <= 0.1x: {'met' if p99 <= 0.1 else 'not met'}); repeats {shown}; "
                     f"both goals met in {met} of {total}; Vigil engine: {engine_of(data, library)}")
    lines.append(f"answers to the benchmark row: {json.dumps(data['answers'])}")
    lines.append(f"load average (1 min) at the start and the end: {data['machine']['load_average_1m']}")
    return "\n".join(lines)


def markdown(data: dict[str, Any]) -> str:
    """The results and goal tables as docs/benchmarks.md shows them."""
    lines = ["| library | server | conns | req/s | p50 ms | p99 ms | errors | cold start s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for library, result in data["results"].items():
        for side, label in (("vigil", f"**Vigil** ({engine_of(data, library)})"), ("mlflow", "mlflow models serve")):
            for i, (level, load) in enumerate(result[side]["load"].items()):
                cold = f"{result[side]['cold_start_s']:.2f}" if i == 0 else ""
                lines.append(f"| {library} | {label} | {level} | {load['rps']:.1f} | {load['p50_ms']:.2f} | "
                             f"{load['p99_ms']:.2f} | {load['non_2xx'] + load['socket_errors']} | {cold} |")
    lines += ["", "| library | c16 req/s ≥ 10x MLflow's | c16 p99 ≤ 0.1x MLflow's | c1 req/s, p99 | "
              "c16 repeats meeting both |", "|---|---|---|---|---|"]
    for library, result in data["results"].items():
        rps, p99 = ratios(result, "16")
        rps1, p991 = ratios(result, "1")
        ours, peer = result["vigil"]["load"]["16"], result["mlflow"]["load"]["16"]
        _shown, met, total = paired(result)
        lines.append(f"| {library} | {rps:.1f}x ({ours['rps']:.0f} vs {peer['rps']:.0f}): "
                     f"{'met' if rps >= 10 else 'not met'} | {p99:.2f}x ({ours['p99_ms']:.1f} vs "
                     f"{peer['p99_ms']:.1f} ms): {'met' if p99 <= 0.1 else 'not met'} | {rps1:.1f}x, {p991:.2f}x | "
                     f"{met} of {total} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per level and server; medians are reported")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the tables for docs/benchmarks.md")
    args = parser.parse_args(argv)
    data = measure(args.seconds, [1, 16], args.repeats)
    print(json.dumps(data, indent=2, default=str) if args.json else report(data))
    if args.markdown:
        print("\n" + markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
