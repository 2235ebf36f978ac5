"""The demo's serving part: start `vigil up`, replay July's flights, send late labels, swap versions."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from appliance.home import Home

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "flights.parquet"
FEATURES = ["sched_dep_time", "sched_arr_time", "distance", "day_of_week", "temp", "dewp", "humid", "wind_dir",
            "wind_speed", "precip", "pressure", "visib", "carrier", "origin", "dest"]


def serve_and_score(home: Home, new_version: int, *, rows: int, say: Callable[[str], None]) -> None:
    from appliance.cli.backend import call

    say("8. Start the daemon (vigil up) and replay July's flights against the scoring API")
    process, url = _start(home)
    try:
        flights = _july(rows)
        latencies, answered = _replay(url, flights)
        say(f"   {len(answered)} requests answered by v1 from 4 clients: p50 {statistics.median(latencies):.1f} ms, "
            f"p95 {statistics.quantiles(latencies, n=20)[-1]:.1f} ms; every answer logged before it was sent")
        labels = [{"request_id": rid, "label": bool(flight["delayed"])} for rid, flight in answered]
        result = _post(url, "/v1/models/flight_delay/feedback", {"labels": labels})
        rows_sql = ("SELECT count(*) AS n, avg((p.prediction = f.label_value)::INT) AS accuracy "
                    "FROM prediction_log p JOIN feedback f USING (request_id, row_index)")
        summary = call(str(home.root), "sql", {"query": rows_sql})["rows"][0]
        say(f"   labels arrive late through the feedback API: {result['counts']}; accuracy on them "
            f"{summary[1]:.3f} over {summary[0]} predictions (joined in SQL)")
        call(str(home.root), "promote", {"name": "flight_delay", "version": new_version, "alias": "champion",
                                         "reason": "demo: v2 saw the summer", "actor": "demo", "percent": None})
        answer = _post(url, "/v1/models/flight_delay/predict", {"records": [flights[0]["record"]]})
        say(f"9. Promote v{new_version} through the admin API: the next request is answered by v{answer['version']} "
            "(hot swap, no restart)")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    say(f"   daemon stopped with exit code {code} after flushing its prediction log")


def _start(home: Home) -> tuple[subprocess.Popen[bytes], str]:
    state = home.root / "daemon.json"
    state.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "appliance.cli.main", "up", "--home", str(home.root),
                                "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{json.loads(state.read_text())['port']}"
            with urllib.request.urlopen(url + "/readyz", timeout=2):
                return process, url
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the daemon did not become ready in 60 s")


def _july(rows: int) -> list[dict[str, Any]]:
    import polars as pl

    frame = pl.read_parquet(SAMPLE).filter(pl.col("month") == 7).head(rows)
    return [{"record": {f: row[f] for f in FEATURES}, "delayed": row["delayed"]} for row in frame.to_dicts()]


def _post(url: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _replay(url: str, flights: list[dict[str, Any]]) -> tuple[list[float], list[tuple[str, dict[str, Any]]]]:
    latencies: list[float] = []
    answered: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    def client(part: list[dict[str, Any]]) -> None:
        for flight in part:
            start = time.perf_counter()
            answer = _post(url, "/v1/models/flight_delay/predict", {"records": [flight["record"]]})
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)
                answered.append((answer["request_id"], flight))

    threads = [threading.Thread(target=client, args=(flights[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, answered
