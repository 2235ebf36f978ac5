"""Service level objectives over 10 million logged requests: every objective of a model (availability and
latency from the rollups, quality, label coverage and drift from the monitoring checks), with its budget,
its burn rate and all four burn-rate window pairs, per model.

    .venv/bin/python bench/slo.py [--rows 10000000] [--models 4] [--runs 10]

Fills a fresh store's prediction log with N one-row requests spread over 30 days across --models models
(log-normal latencies), 0.3% of requests as server errors and 1% as client errors in rejected_requests, and
one monitoring check per model every 15 minutes for 30 days (with its drift verdict, realized and estimated
ROC AUC and label coverage). It rolls the log up as the daemon's rollup job does, then times
`model_slos` for each model (median of --runs): what `vigil slo NAME` and the burn-rate alerts compute;
then the console's whole overview (every model's budgets among the rest; computed, and kept from an
earlier refresh) and a weekly report's budget
history of one model (`budget_history`: budget left and burn per hour over 7 days).
The peer is the availability question alone asked of the raw log and rejected_requests over 30 days, as a
store without rollups must. Goal: every SLO of a model under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAW_AVAILABILITY = """
    SELECT (SELECT count(DISTINCT request_id) FROM prediction_log WHERE model_name = $1 AND route <> 'shadow'
            AND logged_at >= $2 AND logged_at < $3) AS answered,
           (SELECT count(*) FROM rejected_requests WHERE model_name = $1 AND status >= 500
            AND received_at >= $2 AND received_at < $3) AS failed
"""
DAYS = 30

from dashboard import timed  # noqa: E402  (median ms of runs after a warm-up)


def fill(store: Any, rows: int, models: int, start: Any) -> None:
    """The log, its refused requests and the monitoring checks, written by DuckDB itself."""
    step_us = DAYS * 86400 * 1_000_000 / rows
    for m in range(models):
        store.execute("INSERT INTO models VALUES (?, 'binary', 'bench', 'bench', ?)", [f"m{m}", start])
    store.execute(
        "INSERT INTO prediction_log SELECT 'r' || i, 0, ?::TIMESTAMP + to_microseconds((i * ?)::BIGINT), 'm' || (i % ?), "
        "CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, 'champion', 'native', (i % 3 = 0)::INT, random(), "
        "exp(1.0 + 0.6 * sqrt(-2 * ln(random() + 1e-12)) * cos(6.283185307 * random())), []::VARCHAR[], false, NULL, "
        "NULL FROM range(?) t(i)", [start, step_us, models, rows])
    store.execute(
        "INSERT INTO rejected_requests SELECT 'x' || i, ?::TIMESTAMP + to_microseconds((i * ?)::BIGINT), 'm' || (i % ?), "
        "'native', CASE WHEN i % 13 < 3 THEN 500 ELSE 422 END, 'bench', '[]', '' FROM range(?) t(i)",
        [start, step_us * 77, models, rows // 77])  # 1.3% of requests refused: 0.3% by the server, 1% by the client
    checks = DAYS * 96
    store.execute(
        "INSERT INTO drift_runs (run_id, model_name, version, reference, window_start, window_end, current_rows, "
        "reference_rows, verdict, computed_at, computed_by) SELECT 1000000 + i, 'm' || (i % ?), 1, 'training', "
        "?::TIMESTAMP + to_minutes((i // ? * 15)::BIGINT), ?::TIMESTAMP + to_minutes((i // ? * 15 + 15)::BIGINT), "
        "100, 100, CASE WHEN i % 50 = 0 THEN 'critical' ELSE 'ok' END, now(), 'bench' FROM range(?) t(i)",
        [models, start, models, start, models, checks * models])
    store.execute(
        "INSERT INTO monitor_runs (run_id, model_name, version, window_start, window_end, drift_run_id, computed_at, "
        "trigger) SELECT run_id, model_name, 1, window_start, window_end, run_id, window_end, 'schedule' FROM drift_runs")
    store.execute(
        "INSERT INTO monitor_observations SELECT run_id, model_name, window_end, 'outcomes', metric, '(model)', "
        "CASE metric WHEN 'label_coverage' THEN 0.2 ELSE 0.55 + random() * 0.2 END FROM monitor_runs, "
        "(VALUES ('roc_auc'), ('estimated_roc_auc'), ('label_coverage')) v(metric)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from appliance.clock import utc_now
    from appliance.home import Home
    from appliance.home.context import open_context
    from appliance.home.initialise import initialise
    from appliance.monitoring.dashboard import roll_up
    from appliance.monitoring.overview import _budgets as kept_budgets
    from appliance.monitoring.overview import overview
    from appliance.monitoring.slo import model_slos
    from appliance.monitoring.slo_history import budget_history

    work = Path(tempfile.mkdtemp(prefix="vigil-slo-bench-"))
    try:
        home = Home(work / "home")
        initialise(home)
        now = utc_now().replace(second=0, microsecond=0)
        start = now - timedelta(days=DAYS)
        with open_context(home) as ctx:
            begin = time.perf_counter()
            fill(ctx.store, args.rows, args.models, start)
            fill_s = time.perf_counter() - begin
            begin = time.perf_counter()
            rolled = roll_up(ctx, now=now + timedelta(minutes=1))
            rollup_s = time.perf_counter() - begin
            rollup_rows = {t: ctx.store.scalar(f"SELECT count(*) FROM {t}")
                           for t in ("request_rollups", "latency_rollups", "failure_rollups")}
            names = [f"m{m}" for m in range(args.models)]
            per_model = {name: timed(lambda: model_slos(ctx, name, now), args.runs) for name in names}
            report = model_slos(ctx, names[0], now)
            overview_ms = timed(lambda: (kept_budgets.clear(), overview(ctx)), max(3, args.runs // 3))
            overview_kept_ms = timed(lambda: overview(ctx), max(3, args.runs // 3))
            history_ms = timed(lambda: budget_history(ctx, names[0], now - timedelta(days=7), now),
                               max(3, args.runs // 3))
            peer = timed(lambda: ctx.store.execute(RAW_AVAILABILITY, [names[0], start, now]), max(3, args.runs // 3))
        data = {"rows": args.rows, "models": args.models, "fill_s": fill_s, "rollup_s": rollup_s,
                "rolled_requests": rolled["requests"], "rollup_rows": rollup_rows, "median_ms": per_model,
                "peer_raw_availability_ms": peer, "overview_ms": overview_ms,
                "overview_budgets_kept_ms": overview_kept_ms, "budget_history_7d_ms": history_ms,
                "objectives": {o["objective"]: {"total": o["total"], "bad": o["bad"], "budget_left": o["budget_left"]}
                               for o in report["objectives"]}}
        if args.json:
            print(json.dumps(data, indent=2, default=str))
            return 0
        print(f"{args.rows:,} requests over {DAYS} days for {args.models} models written in {fill_s:.1f} s; rolled up "
              f"in {rollup_s:.1f} s into {rollup_rows['request_rollups']:,} request, "
              f"{rollup_rows['latency_rollups']:,} latency and {rollup_rows['failure_rollups']:,} failure rows")
        print(f"{names[0]}: " + ", ".join(f"{k} {v['bad']:,}/{v['total']:,} bad" for k, v in data["objectives"].items()))
        print("\n| model | requests (30 d) | every SLO, median ms | goal < 100 ms |\n|---|---:|---:|---|")
        for name, ms in per_model.items():
            print(f"| {name} | {args.rows // args.models:,} | {ms:.1f} | {'met' if ms < 100 else 'not met'} |")
        print(f"| peer: availability alone from the raw log ({names[0]}) | {args.rows // args.models:,} | {peer:.1f} "
              "| (peer) |")
        print(f"\nconsole overview, all {args.models} models: {overview_ms:.1f} ms computing their budgets, "
              f"{overview_kept_ms:.1f} ms with budgets kept from the last 30 s; "
              f"report budget history of {names[0]} over 7 days: {history_ms:.1f} ms")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
