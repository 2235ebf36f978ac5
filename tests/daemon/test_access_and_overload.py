"""API keys, per-key rate limits, and load shedding with 503 + Retry-After."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from appliance.admin_client import call


def test_api_keys_and_rate_limits(configured_daemon, sample_records, cli) -> None:
    daemon = configured_daemon("[serving]\nrequire_api_key = true\n")
    body = {"records": sample_records[:1]}
    status, answer = daemon.post("/v1/models/delay/predict", body)
    assert status == 401 and "API key" in answer["error"]["message"]
    added = cli("api-keys", "add", "billing", "--json", "--home", daemon.home)
    key = json.loads(added.out)["key"]
    limited = json.loads(cli("api-keys", "add", "batch", "--rate", "2", "--json", "--home", daemon.home).out)["key"]
    assert daemon.post("/v1/models/delay/predict", body, headers={"Authorization": f"Bearer {key}"})[0] == 200
    assert daemon.post("/v1/models/delay/predict", body, headers={"Authorization": "Bearer wrong"})[0] == 401
    statuses = []
    for _ in range(6):
        status, headers, _ = daemon.request("POST", "/v1/models/delay/predict", body,
                                            headers={"Authorization": f"Bearer {limited}"})
        statuses.append((status, headers.get("Retry-After")))
    assert statuses[0] == (200, None)
    assert (429, "1") in statuses
    listed = json.loads(cli("api-keys", "list", "--json", "--home", daemon.home).out)
    assert [k["name"] for k in listed] == ["batch", "billing"] and "key" not in listed[0]
    assert cli("api-keys", "revoke", "billing", "--home", daemon.home).code == 0
    assert daemon.post("/v1/models/delay/predict", body, headers={"Authorization": f"Bearer {key}"})[0] == 401
    audit = call(str(daemon.home), "sql", {"query": "SELECT action FROM audit_log WHERE action LIKE 'api_key%' "
                                                    "ORDER BY id"})["rows"]
    assert audit == [["api_key.create"], ["api_key.create"], ["api_key.revoke"]]


def test_admin_api_needs_the_token(daemon, sample_records) -> None:
    status, answer = daemon.post("/admin/v1/ops/models", {})
    assert status == 401
    token = (Path(daemon.home) / "admin.token").read_text().strip()
    status, answer = daemon.post("/admin/v1/ops/models", {}, headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and answer["result"][0]["name"] == "delay"
    assert oct((Path(daemon.home) / "admin.token").stat().st_mode & 0o777) == "0o600"


def test_overload_answers_503_with_retry_after_at_once(configured_daemon, sample_records) -> None:
    daemon = configured_daemon("[serving]\nthreads = 1\nmax_queue = 2\nbatching = false\n")
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def client() -> None:
        start.wait()
        status, headers, _ = daemon.request("POST", "/v1/models/delay/predict", {"records": sample_records[:50]})
        with lock:
            results.append((status, headers.get("Retry-After")))

    threads = [threading.Thread(target=client) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = {status for status, _ in results}
    assert statuses <= {200, 503} and 503 in statuses and 200 in statuses
    assert all(retry == "1" for status, retry in results if status == 503)
    # waitress's per-request queue warning stays out of the daemon's output; the gauge and counter say it
    assert "Task queue depth" not in daemon.output
    status, body = daemon.get("/metrics")
    metrics = {line.split(" ")[0]: float(line.split(" ")[1]) for line in body.decode().splitlines()
               if line and not line.startswith("#")}
    assert metrics["vigil_request_queue_depth"] == 0
    assert metrics["vigil_shed_requests_total"] == sum(1 for status, _ in results if status == 503)
