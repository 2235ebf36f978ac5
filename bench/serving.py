"""Serving benchmark: Vigil's daemon against `mlflow models serve`, same model, same machine, same run.

    make bench-serving            (or: .venv/bin/python bench/serving.py [--seconds 10] [--json])

Trains the sample flight-delay model (a HistGradientBoosting pipeline), serves it with `vigil up`
(durable prediction logging on) and with MLflow's scoring server (the same pipeline saved with
`mlflow.sklearn`, from .bench-venv), and drives both with wrk at 1, 16 and 64 connections with one-row
requests on 127.0.0.1. Both get the same body on the same endpoint: MLflow's `/invocations` with
`dataframe_records`. The servers run side by side and take turns: each level runs `--repeats` times (5)
per server, interleaved, and each figure is the median of those runs.
Vigil runs twice: default settings (micro-batching `auto`, which is off for a
version served by its scoring plan) and batching forced on. Also measured: cold start from the
command to ready, and the in-process cost of `predict_proba` on one row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VIGIL = Path(sys.executable).with_name("vigil")
PEER_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
LUA = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("VIGIL_BENCH_BODY")):read("*a")
wrk.headers["Content-Type"] = "application/json"
"""
SAVE_MLFLOW_MODEL = """
import sys, joblib, mlflow.sklearn
mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2], serialization_format="cloudpickle")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def prepare(work: Path) -> tuple[Path, Path, dict[str, object]]:
    """A Vigil home with the sample model as champion, the same pipeline as an MLflow model, a record."""
    home = work / "home"
    run = lambda *a: subprocess.run([str(VIGIL), *a, "--home", str(home)], check=True, capture_output=True)  # noqa: E731
    run("init")
    run("train", "--spec", str(ROOT / "sample_data" / "flight_delay.toml"))
    run("promote", "flight_delay", "1", "--to", "champion", "--reason", "benchmark")
    import joblib
    import polars as pl

    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.registry.loading import load_model

    with open_context(Home(home), read_only=True) as ctx:
        model = load_model(ctx, "flight_delay", 1)
    joblib.dump(model, work / "model.joblib")
    subprocess.run([str(PEER_PYTHON), "-c", SAVE_MLFLOW_MODEL, str(work / "model.joblib"), str(work / "mlflow_model")],
                   check=True, capture_output=True)
    features = ["sched_dep_time", "sched_arr_time", "distance", "day_of_week", "temp", "dewp", "humid", "wind_dir",
                "wind_speed", "precip", "pressure", "visib", "carrier", "origin", "dest"]
    frame = pl.read_parquet(ROOT / "sample_data" / "flights.parquet").drop_nulls(features)
    row = frame.filter(pl.col("month") == 8).row(0, named=True)
    record = {f: (float(row[f]) if f in features[:12] else row[f]) for f in features}
    return home, work / "mlflow_model", record


def in_process_predict_ms(home: Path, record: dict[str, object], repeats: int = 300) -> float:
    import polars as pl

    from appliance.home.context import open_context
    from appliance.contracts.features import features_from_json, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model
    from appliance.registry.versions import get_version

    with open_context(Home(home), read_only=True) as ctx:
        model = load_model(ctx, "flight_delay", 1)
        features = features_from_json(get_version(ctx.store, "flight_delay", 1)["features"])
    frame = model_input(pl.DataFrame([record]), features)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_proba(frame)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def wrk(url: str, connections: int, seconds: int, body_file: Path, script: Path) -> dict[str, float]:
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                           "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60,
                          env={**os.environ, "VIGIL_BENCH_BODY": str(body_file)})
    text = done.stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
            "p50_ms": latency("50%"), "p99_ms": latency("99%"), "requests": requests,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0}


def start_vigil(home: Path, batching: bool | None) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start `vigil up`; batching None keeps the default (auto)."""
    setting = "" if batching is None else f"batching = {'true' if batching else 'false'}\n"
    (home / "vigil.toml").write_text(f"[serving]\n{setting}")
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([str(VIGIL), "up", "--home", str(home), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/readyz")
    return process, url, time.perf_counter() - start


def engines(home: Path, url: str) -> list[list[object]]:
    """What serves each loaded version (plan, fast path or pipeline), from the admin API."""
    token = (home / "admin.token").read_text().strip()
    request = urllib.request.Request(url + "/admin/v1/status", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return list(json.loads(response.read())["loaded"])


def start_mlflow(model_dir: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([str(PEER_PYTHON.with_name("mlflow")), "models", "serve", "-m", str(model_dir),
                                "-p", str(port), "-h", "127.0.0.1", "--env-manager", "local"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               env={**os.environ, "PATH": f"{PEER_PYTHON.parent}{os.pathsep}{os.environ['PATH']}"})
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/ping")
    return process, url, time.perf_counter() - start


def stop(process: subprocess.Popen[bytes], group: bool = False) -> None:
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


def median_of(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Each figure's median over repeated runs (the machine is shared and noisy), plus every run's p99."""
    merged: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    merged["non_2xx"] = sum(int(run["non_2xx"]) for run in runs)
    merged["socket_errors"] = sum(int(run["socket_errors"]) for run in runs)
    merged["p99_ms_runs"] = [run["p99_ms"] for run in runs]
    merged["rps_runs"] = [run["rps"] for run in runs]
    return merged


def measure(seconds: int, levels: list[int], repeats: int = 5) -> dict[str, object]:
    """All three servers run side by side (two Vigil homes, since each daemon owns its store) and take
    turns: at each level, each repeat drives Vigil (default), Vigil (batching on) and MLflow one after
    another, so a noisy spell of the shared machine falls on all of them alike. An idle server uses
    no CPU while another is measured."""
    if shutil.which("wrk") is None or not PEER_PYTHON.exists():
        raise RuntimeError("needs wrk (apt-get install wrk) and .bench-venv (make bench-serving builds it)")
    work = Path(tempfile.mkdtemp(prefix="vigil-serving-bench-"))
    started: list[tuple[subprocess.Popen[bytes], bool]] = []
    try:
        home, model_dir, record = prepare(work)
        batching_home = work / "home-batching"
        shutil.copytree(home, batching_home)
        body = work / "body.json"
        body.write_text(json.dumps({"dataframe_records": [record]}))
        script = work / "post.lua"
        script.write_text(LUA)
        servers: dict[str, tuple[str, float]] = {}
        served: dict[str, list[list[object]]] = {}
        for name, starter, vigil_home in (("vigil (default)", lambda: start_vigil(home, None), home),
                                          ("vigil (batching on)", lambda: start_vigil(batching_home, True), batching_home),
                                          ("mlflow models serve", lambda: start_mlflow(model_dir), None)):
            process, url, cold = starter()  # one at a time, so each cold start has the machine to itself
            started.append((process, vigil_home is None))
            servers[name] = (url, cold)
            if vigil_home is not None:
                served[name] = engines(vigil_home, url)
            wrk(url + "/invocations", 4, 2, body, script)  # warm-up
        runs: dict[str, dict[str, list[dict[str, float]]]] = {name: {str(c): [] for c in levels} for name in servers}
        for c in levels:
            for _ in range(repeats):
                for name, (url, _cold) in servers.items():
                    runs[name][str(c)].append(wrk(url + "/invocations", c, seconds, body, script))
        results = {name: {"cold_start_s": cold, "load": {level: median_of(r) for level, r in runs[name].items()}}
                   for name, (_url, cold) in servers.items()}
        for process, group in started:
            stop(process, group=group)
        started.clear()
        logged = subprocess.run([str(VIGIL), "sql", "SELECT count(*) FROM prediction_log", "--format", "csv",
                                 "--home", str(home)], capture_output=True, text=True).stdout.split()[-1]
        return {"seconds_per_level": seconds, "repeats": repeats, "in_process_predict_ms": in_process_predict_ms(home, record),
                "results": results, "engines": served, "vigil_rows_logged": int(logged), "machine": {"nproc": os.cpu_count()}}
    finally:
        for process, group in started:
            stop(process, group=group)
        shutil.rmtree(work, ignore_errors=True)


def report(data: dict[str, object]) -> str:
    results: dict[str, dict[str, object]] = data["results"]  # type: ignore[assignment]
    lines = [f"{'server':<22} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'cold s':>7}"]
    for name, result in results.items():
        for level, run in result["load"].items():  # type: ignore[attr-defined]
            lines.append(f"{name:<22} {level:>5} {run['rps']:>9.1f} {run['p50_ms']:>8.2f} {run['p99_ms']:>8.2f} "
                         f"{run['non_2xx'] + run['socket_errors']:>8} {result['cold_start_s']:>7.2f}")
    peer = results["mlflow models serve"]["load"]
    lines.append(f"in-process predict_proba of the scikit-learn pipeline, 1 row: {data['in_process_predict_ms']:.2f} ms median")
    for name in ("vigil (default)", "vigil (batching on)"):
        ours = results[name]["load"]
        lines.append(
            f"{name}: c16 {ours['16']['rps'] / peer['16']['rps']:.1f}x MLflow's req/s, p99 "
            f"{ours['16']['p99_ms'] / peer['16']['p99_ms']:.2f}x; c1 p50 {ours['1']['p50_ms'] / peer['1']['p50_ms']:.2f}x; "
            f"overhead over predict_proba at c1: {ours['1']['p50_ms'] - data['in_process_predict_ms']:.2f} ms; "
            f"cold start {results[name]['cold_start_s'] / results['mlflow models serve']['cold_start_s']:.2f}x")
    lines.append(paired(results, "vigil (default)"))
    lines.append(f"engines (model, version, engine): {data['engines']}")
    lines.append(f"rows in Vigil's prediction log after the runs: {data['vigil_rows_logged']}")
    return "\n".join(lines)


def paired(results: dict[str, Any], name: str) -> str:
    """Each repeat's c16 ratios against the MLflow run right after it, and how many met both goals."""
    ours, peer = results[name]["load"]["16"], results["mlflow models serve"]["load"]["16"]
    pairs = [(a / b, c / d) for a, b, c, d in zip(ours["rps_runs"], peer["rps_runs"], ours["p99_ms_runs"],
                                                  peer["p99_ms_runs"])]
    met = sum(1 for rps, p99 in pairs if rps >= 10 and p99 <= 0.2)
    shown = ", ".join(f"{rps:.1f}x/{p99:.2f}x" for rps, p99 in pairs)
    return f"{name}: c16 repeats (req/s ratio / p99 ratio): {shown}; both goals met in {met} of {len(pairs)}"


def markdown(data: dict[str, object]) -> str:
    """The results and goal tables as docs/benchmarks.md shows them."""
    results: dict[str, Any] = data["results"]  # type: ignore[assignment]
    labels = {"vigil (default)": "**Vigil (default: batching auto, off for this plan-served model)**",
              "vigil (batching on)": "Vigil, batching forced on",
              "mlflow models serve": "mlflow models serve"}
    lines = ["| server | conns | req/s | p50 ms | p99 ms | errors | cold start s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key, label in labels.items():
        for i, (level, run) in enumerate(results[key]["load"].items()):
            cold = f"{results[key]['cold_start_s']:.2f}" if i == 0 else ""
            lines.append(f"| {label} | {level} | {run['rps']:.1f} | {run['p50_ms']:.2f} | {run['p99_ms']:.2f} | "
                         f"{run['non_2xx'] + run['socket_errors']} | {cold} |")
    on, peer = results["vigil (default)"], results["mlflow models serve"]
    goals = [
        ("c16 requests/s ≥ 10x MLflow's", on["load"]["16"]["rps"] / peer["load"]["16"]["rps"], 10, True,
         f"{on['load']['16']['rps']:.1f} vs {peer['load']['16']['rps']:.1f}"),
        ("c16 p99 ≤ 1/5 of MLflow's", on["load"]["16"]["p99_ms"] / peer["load"]["16"]["p99_ms"], 0.2, False,
         f"{on['load']['16']['p99_ms']:.1f} vs {peer['load']['16']['p99_ms']:.1f} ms"),
        ("c1 p50 ≤ 1/2 of MLflow's", on["load"]["1"]["p50_ms"] / peer["load"]["1"]["p50_ms"], 0.5, False,
         f"{on['load']['1']['p50_ms']:.2f} vs {peer['load']['1']['p50_ms']:.2f} ms"),
        ("cold start ≤ 1/3 of MLflow's", on["cold_start_s"] / peer["cold_start_s"], 1 / 3, False,
         f"{on['cold_start_s']:.2f} vs {peer['cold_start_s']:.2f} s"),
    ]
    lines += ["", "| goal (Vigil, default settings) | measured | met |", "|---|---|---|"]
    for name, ratio, bound, at_least, detail in goals:
        met = ratio >= bound if at_least else ratio <= bound
        lines.append(f"| {name} | {ratio:.2f}x ({detail}) | {'yes' if met else 'no'} |")
    lines += ["", paired(results, "vigil (default)")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per concurrency level")
    parser.add_argument("--repeats", type=int, default=5, help="runs per level and server; medians are reported")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--markdown", action="store_true", help="also print the tables for docs/benchmarks.md")
    args = parser.parse_args(argv)
    data = measure(args.seconds, [1, 16, 64], args.repeats)
    print(json.dumps(data, indent=2) if args.json else report(data))
    if args.markdown:
        print("\n" + markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
