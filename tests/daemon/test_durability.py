"""Nothing acknowledged is lost: kill -9 under load, restart, and every answered request is logged once."""

from __future__ import annotations

import http.client
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
