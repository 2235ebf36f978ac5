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
        request = call(str(home.root), "promote", {"name": "flight_delay", "version": new_version,
                                                   "alias": "champion", "reason": "demo: v2 saw the summer",
                                                   "actor": "demo", "percent": None})
        answer = _post(url, "/v1/models/flight_delay/predict", {"records": [flights[0]["record"]]})
        gates = ", ".join(f"{g['gate']} {'ok' if g['passed'] else 'FAILED'}" for g in request["gates"])
        say(f"9. Request v{new_version} as champion through the admin API; its release gates: {gates}")
        say(f"   request {request['request_id']} {request['status']} ({request['decision']}): the next request is "
            f"answered by v{answer['version']} (hot swap, no restart)")
        _december(home, url, rows, say)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    say(f"   daemon stopped with exit code {code} after flushing its prediction log")


def _december(home: Home, url: str, rows: int, say: Callable[[str], None]) -> None:
    """Winter traffic: drift appears, alerts fire, an incident opens, a drift-triggered retrain runs."""
    from appliance.cli.backend import call

    say("10. December's flights arrive; the monitor check (the job runs it every 15 minutes) runs twice")
    _replay(url, _month(12, rows))
    opened: list[dict[str, Any]] = []
    incidents: list[int] = []
    for _ in range(2):
        check = call(str(home.root), "monitor_run", {"names": ["flight_delay"], "window": "1h", "actor": "demo"})
        opened += [a for a in check["checks"][0]["alerts"] if a["change"] == "opened"]
        incidents += check["checks"][0]["incidents_opened"]
    critical = sorted({a["subject"] for a in opened if a["severity"] == "critical"})
    say(f"   {len(opened)} alerts opened after two consecutive windows; critical drift in {', '.join(critical)}")
    lines = (home.root / "alerts.jsonl").read_text().count("\n")
    say(f"   incident {incidents[0]} opened for flight_delay; {lines} alert events appended to alerts.jsonl")
    say("11. Two windows of critical drift queue a retrain (trigger: drift), trained in a separate process")
    deadline = time.monotonic() + 600
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        runs = call(str(home.root), "jobs", {"job": "retrain"})["runs"]
        if runs and runs[0]["status"] in ("ok", "failed"):
            run = runs[0]
            break
        time.sleep(0.5)
    if run.get("status") != "ok":
        say(f"   the retrain did not finish: {run.get('error') or 'timed out'}")
        return
    version = call(str(home.root), "sql", {"query": "SELECT max(version) FROM model_versions "
                                                    "WHERE retrain_trigger = 'drift'"})["rows"][0][0]
    say(f"   v{version} registered as challenger (never straight to champion); promote it after review")
    timeline = call(str(home.root), "incident_show", {"id": incidents[0], "actor": "demo"})["timeline"]
    kinds: list[str] = []
    for event in timeline:
        kinds.append(event["kind"])
    summary = ", ".join(f"{kinds.count(k)} {k}s" if kinds.count(k) > 1 else k for k in dict.fromkeys(kinds))
    say(f"   incident timeline: {summary}  (vigil incident show {incidents[0]}; "
        f"vigil incident postmortem {incidents[0]})")


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
    return _month(7, rows)


def _month(month: int, rows: int) -> list[dict[str, Any]]:
    import polars as pl

    frame = pl.read_parquet(SAMPLE).filter(pl.col("month") == month)
    frame = frame.sample(n=min(rows, frame.height), seed=month)  # the whole month, not its first morning
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
