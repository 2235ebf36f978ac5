"""Scoring latency while viewers run heavy SQL console queries: p99 loaded against idle, same daemon.

    .venv/bin/python bench/sql_console.py [--seconds 15] [--repeats 3] [--viewers 4] [--connections 4]
                                          [--only aggregates|rows] [--json]

Serves the sample flight-delay model with `vigil up` (default `[sql]` limits), with real users: the
OS account as admin and one viewer token per console client. Each repeat measures one-row requests
with wrk twice, interleaved: idle, then while `--viewers` clients each send heavy console queries
back to back through the admin API (scans and aggregates of tens of millions of rows, a cross join
of 9 million rows that the row cap cuts, a sort of the prediction log). Goal: the median loaded p99
at most 1.5x the median idle p99. Also reports how many console queries were answered, truncated,
or stopped by a limit. `--only` restricts the viewers to the CPU-heavy aggregates that return a few
rows, or to the queries that return 10,000 rows, to see which costs scoring what.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retrain_latency import _record  # noqa: E402
from serving import LUA, VIGIL, free_port, wait_http, wrk  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "SELECT count(*) FROM range(150000000) t WHERE t.range % 7 = 3",
    "SELECT t.range % 1000 AS k, count(*), avg(t.range) FROM range(40000000) t GROUP BY k ORDER BY k",
    "SELECT a.range AS a, b.range AS b FROM range(3000) a, range(3000) b",
    "SELECT * FROM prediction_log ORDER BY request_id DESC",
    "SELECT md5(t.range::VARCHAR) AS h, count(*) FROM range(5000000) t GROUP BY h ORDER BY h LIMIT 20000",
]
KINDS = {"all": HEAVY, "aggregates": [HEAVY[0], HEAVY[1], HEAVY[4]], "rows": [HEAVY[2], HEAVY[3]]}


class Viewers:
    """`count` console clients, each sending the heavy queries in turn until stopped."""

    def __init__(self, url: str, tokens: list[str], queries: list[str]) -> None:
        self.url = url
        self.queries = queries
        self.tokens = tokens
        self.stop = threading.Event()
        self.outcomes: dict[str, int] = {"answered": 0, "truncated": 0, "stopped": 0, "other": 0}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(len(tokens))]

    def __enter__(self) -> "Viewers":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self, index: int) -> None:
        turn = index
        while not self.stop.is_set():
            self._count(self._ask(self.tokens[index], self.queries[turn % len(self.queries)]))
            turn += 1

    def _ask(self, token: str, sql: str) -> str:
        request = urllib.request.Request(f"{self.url}/admin/v1/ops/sql", data=json.dumps({"query": sql}).encode(),
                                         method="POST", headers={"Authorization": f"Bearer {token}",
                                                                 "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return "truncated" if json.loads(response.read())["result"]["truncated"] else "answered"
        except urllib.error.HTTPError as e:
            return "stopped" if json.loads(e.read())["error"]["type"] == "QueryStopped" else "other"

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1


def _home(work: Path, viewers: int) -> tuple[Path, list[str]]:
    home = work / "home"
    run = lambda *a: subprocess.run([str(VIGIL), *a, "--home", str(home)], check=True,  # noqa: E731
                                    capture_output=True, text=True).stdout
    run("init")
    run("train", "--spec", str(ROOT / "sample_data" / "flight_delay.toml"))
    run("promote", "flight_delay", "1", "--to", "champion", "--reason", "benchmark")  # before any user exists
    run("users", "add", pwd.getpwuid(os.getuid()).pw_name, "--role", "admin")
    tokens = [next(line for line in run("users", "add", f"viewer{i}", "--role", "viewer").splitlines()
                   if line.startswith("vgu_")) for i in range(viewers)]
    (home / "vigil.toml").write_text("[jobs]\nenabled = false\n")  # nothing but scoring and the console
    return home, tokens


def measure(seconds: int, repeats: int, viewers: int, connections: int, only: str = "all") -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vigil-sql-bench-"))
    try:
        home, tokens = _home(work, viewers)
        body = work / "body.json"
        body.write_text(json.dumps({"dataframe_records": [_record()]}))
        script = work / "post.lua"
        script.write_text(LUA)
        port = free_port()
        process = subprocess.Popen([str(VIGIL), "up", "--home", str(home), "--port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        idle: list[dict[str, float]] = []
        loaded: list[dict[str, float]] = []
        outcomes: dict[str, int] = {}
        try:
            wait_http(url + "/readyz")
            wrk(url + "/invocations", connections, 3, body, script)  # warm-up; fills the prediction log
            for _ in range(repeats):
                idle.append(wrk(url + "/invocations", connections, seconds, body, script))
                with Viewers(url, tokens, KINDS[only]) as console:
                    time.sleep(1.0)  # every viewer has a query in flight before wrk starts
                    loaded.append(wrk(url + "/invocations", connections, seconds, body, script))
                for key, value in console.outcomes.items():
                    outcomes[key] = outcomes.get(key, 0) + value
        finally:
            process.terminate()
            exit_code = process.wait(120)
        idle_p99 = statistics.median(r["p99_ms"] for r in idle)
        loaded_p99 = statistics.median(r["p99_ms"] for r in loaded)
        return {"seconds": seconds, "repeats": repeats, "viewers": viewers, "connections": connections, "only": only,
                "idle": idle, "loaded": loaded, "idle_p99_ms": idle_p99, "loaded_p99_ms": loaded_p99,
                "p99_ratio": loaded_p99 / idle_p99, "console_queries": outcomes, "daemon_exit_code": exit_code}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(data: dict[str, Any]) -> str:
    lines = []
    for i, (idle, loaded) in enumerate(zip(data["idle"], data["loaded"]), 1):
        lines.append(f"repeat {i}: idle {idle['rps']:.0f} req/s p50 {idle['p50_ms']:.2f} ms p99 {idle['p99_ms']:.2f} ms"
                     f" | {data['viewers']} viewers {loaded['rps']:.0f} req/s p50 {loaded['p50_ms']:.2f} ms "
                     f"p99 {loaded['p99_ms']:.2f} ms (non-2xx {loaded['non_2xx']})")
    ratio = data["p99_ratio"]
    lines.append(f"median p99: idle {data['idle_p99_ms']:.2f} ms, loaded {data['loaded_p99_ms']:.2f} ms; "
                 f"ratio {ratio:.2f}x (goal <= 1.5x): {'met' if ratio <= 1.5 else 'not met'}")
    lines.append(f"console queries: {data['console_queries']}; daemon exit code {data['daemon_exit_code']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="length of each idle and loaded window")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved idle/loaded pairs (medians reported)")
    parser.add_argument("--viewers", type=int, default=4, help="console clients running heavy queries")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections scoring")
    parser.add_argument("--only", choices=sorted(KINDS), default="all", help="which heavy queries the viewers send")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    data = measure(args.seconds, args.repeats, args.viewers, args.connections, args.only)
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
