"""The demo's live part: `vigil up`, July's traffic with late labels, December's drift, the
drift-triggered retrain, v2 as shadow then canary, its approval, and one rollback."""

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
from typing import TYPE_CHECKING, Any, Callable

from appliance.store import demo_queries as dq

if TYPE_CHECKING:
    from appliance.demo.story import Demo

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "flights.parquet"
FEATURES = ["sched_dep_time", "sched_arr_time", "distance", "day_of_week", "temp", "dewp", "humid", "wind_dir",
            "wind_speed", "precip", "pressure", "visib", "carrier", "origin", "dest"]
MODEL = "flight_delay"


def serve_story(demo: "Demo", step: Callable[[int, "Demo"], None], *, keep_running: bool) -> None:
    process, demo.url = _start(demo)
    stopped = False
    try:
        rows = 120 if demo.fast else 600
        _july(demo, rows)
        step(5, demo)
        _december(demo, rows)
        step(6, demo)
        challenger = _retrain(demo)
        step(7, demo)
        if challenger is None:
            return
        _shadow(demo, challenger, 60 if demo.fast else 200)
        step(8, demo)
        _canary(demo, challenger, 200 if demo.fast else 400)
        step(9, demo)
        _promote(demo, challenger)
        step(10, demo)
        _roll_back(demo)
        step(11, demo)
        _report(demo)
        step(12, demo)
        if keep_running:
            demo.say(f"\nThe daemon keeps running at {demo.url}. In a second terminal:")
            demo.say(f"    vigil tui --home {demo.home.root}")
            demo.say("Press Ctrl-C here to stop it.")
            try:
                process.wait()
            except KeyboardInterrupt:
                demo.say("")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(60)
        stopped = True
    if stopped:
        demo.say(f"   daemon stopped with exit code {code} after flushing its prediction log")
    demo.say(f"\nExplore it: vigil tui --home {demo.home.root}   (read-only while the daemon is stopped; "
             f"`vigil up --home {demo.home.root}` starts it)")
    demo.say(f"            vigil sql \"SELECT * FROM version_releases\" --home {demo.home.root}")


def _report(demo: "Demo") -> None:
    made = demo.call("report", {"name": MODEL, "window": "7d"})
    demo.say(f"12. The week's report, as the weekly report job writes it (vigil report {MODEL}): one self-contained "
             f"HTML file, {made['bytes'] // 1024} KiB,")
    demo.say(f"   with traffic, latency, drift histograms, scores, outcomes, alerts and releases: {made['path']}")


def _july(demo: "Demo", rows: int) -> None:
    demo.say("5. Start the daemon (vigil up) and replay July's flights against the scoring API")
    flights = _month(7, rows)
    latencies, answered = _replay(demo.url, flights)
    demo.say(f"   {len(answered)} requests answered by v1 from 4 clients: p50 {statistics.median(latencies):.1f} ms, "
             f"p95 {statistics.quantiles(latencies, n=20)[-1]:.1f} ms; every answer logged before it was sent")
    labels = [{"request_id": rid, "label": bool(flight["delayed"])} for rid, flight in answered]
    result = _post(demo.url, f"/v1/models/{MODEL}/feedback", {"labels": labels})
    accuracy = demo.sql(dq.FEEDBACK_ACCURACY)[0]
    demo.say(f"   labels arrive later through the feedback API: {result['counts']}; accuracy on them "
             f"{accuracy[1]:.3f} over {accuracy[0]} predictions (joined in SQL)")


def _december(demo: "Demo", rows: int) -> None:
    from appliance.demo.story import FIRST_CUTOFF, LANDED_CUTOFF, _land

    landed = _land(demo, LANDED_CUTOFF, "flights_2013_jul_nov.parquet", after=FIRST_CUTOFF)
    demo.say(f"6. The data pipeline lands July to November's {landed} labelled flights; December's traffic "
             "arrives, and the monitor check (the job runs it every 15 minutes) runs twice")
    _replay(demo.url, _month(12, rows))
    opened: list[dict[str, Any]] = []
    incidents: list[int] = []
    for _ in range(2):
        check = demo.call("monitor_run", {"names": [MODEL], "window": "1h"})
        opened += [a for a in check["checks"][0]["alerts"] if a["change"] == "opened"]
        incidents += check["checks"][0]["incidents_opened"]
    critical = sorted({a["subject"] for a in opened if a["severity"] == "critical"})
    demo.say(f"   {len(opened)} alerts opened after two consecutive windows; critical drift in {', '.join(critical)}")
    demo.say(f"   incident {incidents[0]} opened for {MODEL}; alert events appended to alerts.jsonl")
    demo.call("incident_ack", {"id": incidents[0]}, user="dana")
    demo.say(f"   dana acknowledges incident {incidents[0]}")


def _retrain(demo: "Demo") -> int | None:
    demo.say("7. Two windows of critical drift queue a retrain (trigger: drift): a separate process snapshots "
             "the landed data again and trains at the lowest CPU priority")
    deadline = time.monotonic() + 900
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        runs = demo.call("jobs", {"job": "retrain"})["runs"]
        if runs and runs[0]["status"] in ("ok", "failed"):
            run = runs[0]
            break
        time.sleep(0.5)
    if run.get("status") != "ok":
        demo.say(f"   the retrain did not finish: {run.get('error') or 'timed out'}")
        return None
    version, rows, until = demo.sql(dq.LATEST_DRIFT_RETRAIN)[0]
    auc = demo.sql(dq.holdout_auc(MODEL, version))[0][0]
    demo.say(f"   v{version} trained on {rows} flights up to {str(until)[:10]} (holdout ROC AUC {auc:.3f}); "
             "registered as challenger, never straight to champion")
    return int(version)


def _shadow(demo: "Demo", version: int, rows: int) -> None:
    request = demo.call("promote", {"name": MODEL, "version": version, "alias": "shadow",
                                    "reason": "compare on live traffic"}, user="dana")
    _replay(demo.url, _month(12, rows, seed=112))
    query = dq.shadow_agreement(version)
    deadline = time.monotonic() + 30
    agreement = demo.sql(query)[0]
    while agreement[0] < rows and time.monotonic() < deadline:  # the shadow scores off the request path
        time.sleep(0.2)
        agreement = demo.sql(query)[0]
    demo.say(f"8. dana puts v{version} in shadow (request {request['request_id']} {request['status']}: no approval "
             f"needed): it scores the same {agreement[0]} rows off the request path; it agrees with v1 on "
             f"{agreement[1]:.1%} of them, mean score difference {agreement[2]:+.3f}")


def _canary(demo: "Demo", version: int, rows: int) -> None:
    demo.call("promote", {"name": MODEL, "version": version, "alias": "canary", "percent": 25.0,
                          "reason": "25% of traffic"}, user="dana")
    began = time.monotonic()
    latencies, answered = _replay(demo.url, _month(12, rows, seed=212), routing=True)
    share = demo.sql(dq.CANARY_SHARE)[0][0]
    time.sleep(max(0.0, 2.5 - (time.monotonic() - began)))  # the canary's minimum run (canary.min_seconds)
    demo.call("monitor_run", {"names": [MODEL], "window": "1h"})  # the daemon judges the canary after it
    verdict = demo.sql(dq.LATEST_CANARY_VERDICT)
    demo.say(f"9. v{version} as canary for 25% of requests (sticky per client): it answered {share:.0%} of "
             f"{len(answered)} requests")
    if verdict:
        detail = json.loads(verdict[0][1]) if isinstance(verdict[0][1], str) else (verdict[0][1] or {})
        checks = ", ".join(_check_words(c) for c in detail.get("checks", []))
        demo.say(f"   canary analysis: {detail.get('status', '?')} — {checks}; policy: report, a person decides")


def _promote(demo: "Demo", version: int) -> None:
    incident = demo.sql(dq.unresolved_incident(MODEL))
    if incident:
        demo.call("incident_resolve", {"id": incident[0][0], "resolution": f"v{version}, trained through November, "
                                       "replaces v1"}, user="dana")
    request = demo.call("promote", {"name": MODEL, "version": version, "alias": "champion",
                                    "reason": "retrained through November; canary healthy"}, user="dana")
    gates = ", ".join(f"{g['gate']} {'ok' if g['passed'] else 'FAILED'}" for g in request["gates"])
    demo.say(f"10. dana resolves the incident and requests v{version} as champion; gates: {gates}")
    if request["status"] != "pending":
        demo.say(f"   request {request['request_id']} {request['status']}: {request['decision']}")
        return
    approved = demo.call("approve", {"id": request["request_id"]}, user="sam")
    answer = _post(demo.url, f"/v1/models/{MODEL}/predict", {"records": [_month(12, 1)[0]["record"]]})
    demo.say(f"   sam approves request {approved['request_id']}: the next request is answered by "
             f"v{answer['version']} (hot swap, no restart)")


def _roll_back(demo: "Demo") -> None:
    flights = _month(12, 40, seed=312)
    stop = threading.Event()
    failures: list[int] = []

    def load() -> None:
        i = 0
        while not stop.is_set():
            try:
                _post(demo.url, f"/v1/models/{MODEL}/predict", {"records": [flights[i % len(flights)]["record"]]})
            except OSError:
                failures.append(i)
            i += 1

    clients = [threading.Thread(target=load) for _ in range(2)]
    for c in clients:
        c.start()
    try:
        began = time.perf_counter()
        result = demo.call("rollback", {"name": MODEL, "reason": "demo: the way back"}, user="dana")
        answer = _post(demo.url, f"/v1/models/{MODEL}/predict", {"records": [flights[0]["record"]]})
        took = time.perf_counter() - began
    finally:
        stop.set()
        for c in clients:
            c.join()
    demo.say(f"11. dana rolls back under load (vigil rollback, or R in vigil tui): champion v{result['from_version']} "
             f"-> v{result['to_version']}; the next request was answered by v{answer['version']} "
             f"{took:.2f} s after the command; {len(failures)} requests failed")


def _start(demo: "Demo") -> tuple[subprocess.Popen[bytes], str]:
    state = demo.home.root / "daemon.json"
    state.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "appliance.cli.main", "up", "--home", str(demo.home.root),
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


def _month(month: int, rows: int, seed: int | None = None) -> list[dict[str, Any]]:
    import polars as pl

    frame = pl.read_parquet(SAMPLE).filter(pl.col("month") == month)
    frame = frame.sample(n=min(rows, frame.height), seed=seed or month)  # the whole month, not its first morning
    return [{"record": {f: row[f] for f in FEATURES}, "delayed": row["delayed"]} for row in frame.to_dicts()]


def _post(url: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _replay(url: str, flights: list[dict[str, Any]],
            routing: bool = False) -> tuple[list[float], list[tuple[str, dict[str, Any]]]]:
    """Four clients; with `routing`, each request carries a client key (canary routing is sticky per key)."""
    latencies: list[float] = []
    answered: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    def client(part: list[dict[str, Any]], offset: int) -> None:
        for i, flight in enumerate(part):
            headers = {"X-Routing-Key": f"client-{offset}-{i}"} if routing else None
            start = time.perf_counter()
            answer = _post(url, f"/v1/models/{MODEL}/predict", {"records": [flight["record"]]}, headers)
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)
                answered.append((answer["request_id"], flight))

    threads = [threading.Thread(target=client, args=(flights[i::4], i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, answered


def _check_words(check: dict[str, Any]) -> str:
    """One canary check as the story tells it: value, limit (plus the sampling noise an estimate allows)."""
    noise = f" + noise {check['noise']:.3g}" if check.get("noise") else ""
    return f"{check['check']} {check['value']:.3g} (limit {check['limit']:g}{noise}) {'ok' if check['ok'] else 'FAILED'}"
