"""Champion, canary and shadow routes, and swapping versions under concurrent load."""

from __future__ import annotations

import threading
import time
from collections import Counter

from appliance.core.identity import current_account
from appliance.admin_client import call
from daemon_support import Daemon


def _sql(daemon: Daemon, sql: str) -> list[list[object]]:
    return call(str(daemon.home), "sql", {"query": sql})["rows"]


def _promote(daemon: Daemon, version: int, alias: str, percent: float | None = None) -> None:
    call(str(daemon.home), "promote", {"name": "delay", "version": version, "alias": alias, "reason": "test",
                                       "percent": percent, "actor": "tester"})


def _clients(daemon: Daemon, records: list, stop: threading.Event,
             answers: list[tuple[float, int, int]]) -> list[threading.Thread]:
    """Eight clients scoring one row at a time until `stop`; answers are (time, status, version or -1)."""
    lock = threading.Lock()

    def client(offset: int) -> None:
        while not stop.is_set():
            status, answer = daemon.post("/v1/models/delay/predict", {"records": [records[offset]]})
            with lock:
                answers.append((time.monotonic(), status, answer.get("version", 0) if status == 200 else -1))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    return threads


def test_canary_answers_its_share_sticky_by_key(daemon: Daemon, sample_records) -> None:
    _promote(daemon, 2, "canary", percent=30)
    routes = Counter()
    for i in range(200):
        answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:1], "routing_key": f"user-{i}"})[1]
        routes[(answer["route"], answer["version"])] += 1
    assert set(routes) == {("champion", 1), ("canary", 2)}
    assert 35 <= routes[("canary", 2)] <= 85  # 30% of 200, well inside binomial noise
    first = daemon.post("/v1/models/delay/predict", {"records": sample_records[:1], "routing_key": "sticky"})[1]
    again = [daemon.post("/v1/models/delay/predict", {"records": sample_records[:1], "routing_key": "sticky"})[1]
             for _ in range(10)]
    assert {a["route"] for a in again} == {first["route"]}
    logged = _sql(daemon, "SELECT route, version, count(*) FROM prediction_log GROUP BY ALL ORDER BY 1")
    assert [r[:2] for r in logged] == [["canary", 2], ["champion", 1]]


def test_shadow_scores_off_the_request_path(daemon: Daemon, sample_records) -> None:
    _promote(daemon, 2, "shadow")
    answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:3], "request_id": "sh-1"})[1]
    assert answer["version"] == 1 and answer["route"] == "champion"
    deadline = time.monotonic() + 10
    rows: list[list[object]] = []
    while time.monotonic() < deadline:
        rows = _sql(daemon, "SELECT route, version, count(*) FROM prediction_log WHERE request_id = 'sh-1' "
                            "GROUP BY ALL ORDER BY 1")
        if len(rows) == 2:
            break
        time.sleep(0.05)
    assert rows == [["champion", 1, 3], ["shadow", 2, 3]]


def test_swap_under_load_fails_no_request_and_takes_effect_at_once(daemon: Daemon, sample_records) -> None:
    stop = threading.Event()
    answers: list[tuple[float, int, int]] = []
    threads = _clients(daemon, sample_records, stop, answers)
    time.sleep(0.5)
    _promote(daemon, 2, "champion")
    swapped_at = time.monotonic()
    time.sleep(1.0)
    _promote(daemon, 1, "champion")
    back_at = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert len(answers) > 50
    assert [a for a in answers if a[1] != 200] == []
    after_swap = [v for at, _, v in answers if swapped_at + 0.05 < at < back_at - 0.05]
    assert after_swap and set(after_swap) == {2}
    assert {v for at, _, v in answers if at > back_at + 0.05} == {1}


def test_rollback_under_load_fails_no_request_and_answers_within_a_second(daemon: Daemon, sample_records) -> None:
    home = str(daemon.home)
    call(home, "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "v2 looks better",
                           "actor": "alice", "percent": None})
    stop = threading.Event()
    answers: list[tuple[float, int, int]] = []
    threads = _clients(daemon, sample_records, stop, answers)
    time.sleep(0.5)
    commanded = time.monotonic()
    result = call(home, "rollback", {"name": "delay", "to": None, "reason": "v2 misbehaves", "actor": "bob"})
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    assert {k: result[k] for k in ("model", "from_version", "to_version")} == {
        "model": "delay", "from_version": 2, "to_version": 1}
    assert "most recent earlier champion" in result["why"]
    assert [c["check"] for c in result["preflight"]] == ["loads", "contract", "golden_rows"]
    assert all(c["ok"] is not False for c in result["preflight"])
    assert [a for a in answers if a[1] != 200] == []
    assert {v for at, _, v in answers if at > commanded + 1.0} == {1}  # v1 answers within 1 s of the command
    me = current_account()  # the recorded actor is the identified caller, whatever the arguments say
    deployments = call(home, "sql", {"query": "SELECT actor, reason FROM deployments ORDER BY id DESC LIMIT 1"})
    assert deployments["rows"] == [[me, "v2 misbehaves"]]
    audit = call(home, "sql", {"query": "SELECT action, actor FROM audit_log ORDER BY id DESC LIMIT 1"})
    assert audit["rows"] == [["alias.rollback", me]]
