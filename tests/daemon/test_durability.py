"""Nothing acknowledged is lost: kill -9 under load, restart, and every answered request is logged once."""

from __future__ import annotations

import http.client
import json
import signal
import threading
from pathlib import Path

from daemon_support import Daemon, start_daemon
from support import query


def test_kill_minus_9_under_load_loses_no_acknowledged_prediction(daemon: Daemon, sample_records,
                                                                   tmp_path: Path) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(worker: int) -> None:
        for i in range(10_000):
            request_id = f"w{worker}-{i}"
            try:
                status, answer = daemon.post("/v1/models/delay/predict",
                                             {"records": sample_records[:2], "request_id": request_id}, timeout=10)
            except (OSError, http.client.HTTPException):
                return  # the daemon is gone: this request was never acknowledged
            if status == 200:
                with lock:
                    acknowledged.append(answer["request_id"])
                    if len(acknowledged) >= 300:
                        enough.set()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(12)]
    for t in threads:
        t.start()
    assert enough.wait(120), "the daemon answered too few requests"
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(30)
    for t in threads:
        t.join(60)
    assert len(acknowledged) >= 300
    counts = dict(query(daemon.home, "SELECT request_id, count(*) FROM prediction_log GROUP BY request_id"))
    missing = [r for r in acknowledged if r not in counts]
    assert missing == []
    assert {counts[r] for r in acknowledged} == {2}  # two rows per request, each logged once
    inputs = dict(query(daemon.home, "SELECT request_id, count(*) FROM prediction_inputs__delay GROUP BY 1"))
    assert {inputs[r] for r in acknowledged} == {2}
    restarted = start_daemon(daemon.home, tmp_path / "again.log")
    try:
        status, answer = restarted.post("/v1/models/delay/predict", {"records": sample_records[:1]})
        assert status == 200 and answer["version"] == 1
    finally:
        assert restarted.stop() == 0


def test_sigterm_under_load_answers_every_request_in_flight(daemon: Daemon, sample_records) -> None:
    """Requests in flight when SIGTERM arrives finish with 200 and are logged; later ones get 503 or
    find the port closed; none gets a 500."""
    host, port = daemon.url.removeprefix("http://").split(":")
    answered: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()
    started = threading.Event()

    def client(worker: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)  # kept alive between requests
        for i in range(10_000):
            request_id = f"t{worker}-{i}"
            body = json.dumps({"records": sample_records[:2], "request_id": request_id})
            try:
                connection.request("POST", "/v1/models/delay/predict", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                return  # the daemon closed the connection after its last answer
            with lock:
                statuses.append(response.status)
                if response.status == 200:
                    answered.append(request_id)
                    if len(answered) >= 100:
                        started.set()
            if response.status == 503:
                return

    threads = [threading.Thread(target=client, args=(w,)) for w in range(12)]
    for t in threads:
        t.start()
    assert started.wait(120), "the daemon answered too few requests"
    assert daemon.stop(signal.SIGTERM) == 0
    for t in threads:
        t.join(60)
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert "Exception while serving" not in daemon.output and "stopped cleanly" in daemon.output
    counts = dict(query(daemon.home, "SELECT request_id, count(*) FROM prediction_log GROUP BY request_id"))
    assert {counts.get(r) for r in answered} == {2}
