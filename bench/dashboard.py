"""Dashboard queries over 10 million logged predictions: latency percentiles per version, requests per
minute and worst-drifting features, for the last hour and the last 7 days.

    .venv/bin/python bench/dashboard.py [--rows 10000000] [--runs 10]

Fills a fresh store's prediction log with N one-row requests spread over 7 days (two versions,
log-normal latencies), rolls it up as the daemon's rollup job does, then times each dashboard query
(median of --runs). The peer is the same question asked of the raw log (exact percentiles with
`quantile_cont`), which is what a store without rollups must do. Goal: every dashboard query under
250 ms median, for both windows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAW_PERCENTILES = """
    SELECT version, count(*) AS requests, quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95),
           quantile_cont(latency_ms, 0.99)
    FROM (SELECT request_id, any_value(version) AS version, any_value(latency_ms) AS latency_ms FROM prediction_log
          WHERE model_name = ? AND route <> 'shadow' AND logged_at >= ? AND logged_at < ? GROUP BY request_id)
    GROUP BY version ORDER BY version
"""


def timed(run: Callable[[], Any], runs: int) -> float:
    run()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.home.initialise import initialise
    from appliance.monitoring.dashboard import roll_up
    from appliance.store import rollup_queries as rq

    work = Path(tempfile.mkdtemp(prefix="vigil-dashboard-bench-"))
    try:
        home = Home(work / "home")
        initialise(home)
        now = utc_now().replace(second=0, microsecond=0)
        start = now - timedelta(days=7)
        with open_context(home) as ctx:
            store = ctx.store
            begin = time.perf_counter()
            store.execute("INSERT INTO models VALUES ('m', 'binary', 'bench', 'bench', ?)", [start])
            store.execute(
                "INSERT INTO prediction_log SELECT 'r' || i, 0, ?::TIMESTAMP + to_microseconds((i * ?)::BIGINT), 'm', "
                "CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, 'champion', 'native', (i % 3 = 0)::INT, random(), "
                "exp(1.0 + 0.6 * sqrt(-2 * ln(random() + 1e-12)) * cos(6.283185307 * random())), []::VARCHAR[], false, NULL "
                "FROM range(?) t(i)",
                [start, 7 * 86400 * 1_000_000 / args.rows, args.rows])
            fill_s = time.perf_counter() - begin
            store.execute("INSERT INTO drift_runs VALUES (1, 'm', 1, 'training', ?, ?, 1000, 1000, 'critical', ?, 'b')",
                          [now - timedelta(hours=1), now, now])
            store.execute("INSERT INTO drift_results SELECT 1, 'm', 1, ?, ?, 'f' || i, NULL, NULL, 'psi', i / 50, "
                          "'ok' FROM range(20) t(i)", [now - timedelta(hours=1), now])
            begin = time.perf_counter()
            rolled = roll_up(ctx, now=now + timedelta(minutes=1))
            rollup_s = time.perf_counter() - begin
            upto = rq.watermark(store)
            results: dict[str, dict[str, float]] = {}
            for label, span in (("1 hour", timedelta(hours=1)), ("7 days", timedelta(days=7))):
                since = now - span
                results[label] = {
                    "latency percentiles per version": timed(
                        lambda: rq.latency_percentiles(store, "m", since, now, upto), args.runs),
                    "requests per minute": timed(lambda: rq.requests_per_minute(store, "m", since, now, upto),
                                                 args.runs),
                    "worst-drifting features": timed(lambda: rq.worst_drift(store, "m", 5), args.runs),
                    "peer: exact percentiles from the raw log": timed(
                        lambda: store.execute(RAW_PERCENTILES, ["m", since, now]), max(3, args.runs // 3)),
                }
        data = {"rows": args.rows, "fill_s": fill_s, "rollup_s": rollup_s, "rolled_requests": rolled["requests"],
                "median_ms": results}
        if args.json:
            print(json.dumps(data, indent=2))
            return 0
        print(f"{args.rows:,} requests over 7 days written in {fill_s:.1f} s; rolled up in {rollup_s:.1f} s "
              "(once; the rollup job then folds each new minute)")
        print("\n| query | last hour, median ms | last 7 days, median ms | goal < 250 ms |\n|---|---:|---:|---|")
        for name in results["1 hour"]:
            hour, week = results["1 hour"][name], results["7 days"][name]
            goal = "(peer)" if name.startswith("peer") else ("met" if max(hour, week) < 250 else "not met")
            print(f"| {name} | {hour:.1f} | {week:.1f} | {goal} |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
