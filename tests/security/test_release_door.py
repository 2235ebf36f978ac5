"""Row 2: no single person releases a model — not through a canary, a large canary, or a rollback.

Against a real daemon with real users: ada (admin), otto (operator), alice and bob (approvers).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, add_people, start_daemon, wait_until, op

# A short canary whose analysis passes on a couple of hundred requests: these tests are about who may
# release, not about the analysis's limits (tests/daemon/test_alerts_and_jobs.py covers those).
CANARY_ENV = {"VIGIL_CANARY_MIN_SECONDS": "1", "VIGIL_CANARY_MIN_REQUESTS": "10",
              "VIGIL_CANARY_MAX_SCORE_PSI": "10", "VIGIL_CANARY_MAX_LATENCY_P95_RATIO": "100",
              "VIGIL_JOBS_DRIFT_RETRAIN_WINDOWS": "0"}



@pytest.fixture
def people(fresh_home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    return add_people(fresh_home, vigil)


@pytest.fixture
def guarded(fresh_home: Path, people: dict[str, str], tmp_path: Path) -> Iterator[Daemon]:
    started = start_daemon(fresh_home, tmp_path / "daemon.log", env=CANARY_ENV)
    yield started
    started.stop()



def sql(daemon: Daemon, token: str, text: str) -> list[tuple[Any, ...]]:
    status, found = op(daemon, token, "sql", {"query": text})
    assert status == 200, found
    return [tuple(row) for row in found["rows"]]


def aliases(daemon: Daemon, token: str) -> dict[str, int]:
    return dict(sql(daemon, token, "SELECT alias, version FROM aliases WHERE model_name = 'delay'"))


def traffic(daemon: Daemon, records: list[dict[str, Any]], rounds: int = 1) -> set[tuple[str, int]]:
    """Score each record once per round with a fresh request id; the (route, version) pairs that answered."""
    answered = set()
    for _ in range(rounds):
        for record in records:
            status, body = daemon.post("/v1/models/delay/predict", {"records": [record]},
                                       headers={"X-Request-Id": uuid.uuid4().hex})
            assert status == 200, body
            answered.add((body["route"], body["version"]))
    return answered


def canary_runs(daemon: Daemon, token: str) -> list[dict[str, Any]]:
    status, found = op(daemon, token, "jobs", {"job": "canary"})
    assert status == 200
    assert not [r for r in found["runs"] if r["status"] == "failed"], found["runs"]
    return [r for r in found["runs"] if r["status"] == "ok"]


def test_a_passing_canary_asks_for_approval_and_its_requester_cannot_give_it(
        guarded: Daemon, people: dict[str, str], sample_records: list[dict[str, Any]]) -> None:
    status, request = op(guarded, people["alice"], "promote",
                         {"name": "delay", "version": 2, "alias": "canary", "percent": 20, "reason": "try v2"})
    assert status == 200 and request["status"] == "applied"  # 20% is within max_percent_without_approval
    assert traffic(guarded, sample_records) == {("champion", 1), ("canary", 2)}
    time.sleep(1.1)  # the canary's minimum run (VIGIL_CANARY_MIN_SECONDS)
    assert op(guarded, people["otto"], "monitor_run", {})[0] == 200
    run = wait_until(lambda: canary_runs(guarded, people["otto"]), 60)[0]
    assert json.loads(run["detail"])["action"] == "promotion requested", run
    assert aliases(guarded, people["ada"]) == {"champion": 1, "canary": 2}  # nothing moved on its own
    status, listed = op(guarded, people["otto"], "requests", {})
    pending = [r for r in listed["requests"] if r["alias"] == "champion"]
    assert len(pending) == 1 and pending[0]["requested_by"] == "alice" and pending[0]["version"] == 2
    status, shown = op(guarded, people["otto"], "request_show", {"id": pending[0]["request_id"]})
    assert {"canary_latency_p95_ratio", "canary_score_psi"} <= {g["gate"] for g in shown["gates"]}
    status, refused = op(guarded, people["alice"], "approve", {"id": pending[0]["request_id"]})
    assert status == 403 and "cannot approve it" in refused["message"]
    assert aliases(guarded, people["ada"])["champion"] == 1
    status, approved = op(guarded, people["bob"], "approve", {"id": pending[0]["request_id"]})
    assert status == 200 and approved["status"] == "approved"
    assert aliases(guarded, people["ada"]) == {"champion": 2}  # the canary graduated
    mover = sql(guarded, people["ada"], "SELECT actor FROM audit_log WHERE action = 'alias.move' "
                                "AND details->>'alias' = 'champion' ORDER BY id DESC LIMIT 1")
    assert mover == [("bob",)]


def test_a_canary_with_no_champion_traffic_is_inconclusive_never_passed(
        guarded: Daemon, people: dict[str, str], sample_records: list[dict[str, Any]]) -> None:
    status, request = op(guarded, people["alice"], "promote",
                         {"name": "delay", "version": 2, "alias": "canary", "percent": 100, "reason": "all of it"})
    assert status == 200 and request["status"] == "pending"
    assert op(guarded, people["bob"], "approve", {"id": request["request_id"]})[0] == 200
    assert traffic(guarded, sample_records[:40]) == {("canary", 2)}
    time.sleep(1.1)  # the canary's minimum run (VIGIL_CANARY_MIN_SECONDS)
    assert op(guarded, people["otto"], "monitor_run", {})[0] == 200
    run = wait_until(lambda: canary_runs(guarded, people["otto"]), 60)[0]
    detail = json.loads(run["detail"])
    assert detail["status"] == "inconclusive" and detail["action"] == "reported", detail
    assert aliases(guarded, people["ada"])["champion"] == 1
    filed = sql(guarded, people["ada"], "SELECT count(*) FROM promotion_requests WHERE alias = 'champion' AND version = 2")
    assert filed == [(0,)]


@pytest.mark.parametrize("percent", [30, 100])
def test_a_canary_above_the_limit_needs_an_approver(guarded: Daemon, people: dict[str, str],
                                                    sample_records: list[dict[str, Any]], percent: int) -> None:
    status, request = op(guarded, people["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "canary", "percent": percent, "reason": "more"})
    assert status == 200 and request["status"] == "pending"
    assert any("max_percent_without_approval" in why for why in request["approval_because"])
    assert aliases(guarded, people["ada"]) == {"champion": 1}
    assert traffic(guarded, sample_records[:20]) == {("champion", 1)}


def test_rollback_goes_only_to_an_earlier_champion_and_never_flips_back(
        guarded: Daemon, people: dict[str, str], sample_records: list[dict[str, Any]]) -> None:
    traffic(guarded, sample_records[:30])  # v1's recorded answers, re-scored by the pre-flight
    status, refused = op(guarded, people["otto"], "rollback", {"name": "delay", "to": 2, "reason": "sneak v2 in"})
    assert status == 400 and "was never champion" in refused["message"] and "vigil promote" in refused["message"]
    assert aliases(guarded, people["ada"]) == {"champion": 1}
    assert sql(guarded, people["ada"], "SELECT count(*) FROM audit_log WHERE action = 'alias.rollback'") == [(0,)]

    status, request = op(guarded, people["otto"], "promote",
                         {"name": "delay", "version": 2, "alias": "champion", "reason": "v2 is better"})
    assert status == 200 and request["status"] == "pending"
    assert op(guarded, people["alice"], "approve", {"id": request["request_id"]})[0] == 200
    assert aliases(guarded, people["ada"]) == {"champion": 2}

    status, rolled = op(guarded, people["otto"], "rollback", {"name": "delay", "reason": "v2 misbehaves"})
    assert status == 200 and (rolled["from_version"], rolled["to_version"]) == (2, 1), rolled
    assert "most recent earlier champion" in rolled["why"]
    golden = next(c for c in rolled["preflight"] if c["check"] == "golden_rows")
    assert golden["ok"] is True and golden["detail"].startswith("30 of 30"), golden
    assert aliases(guarded, people["ada"]) == {"champion": 1}

    status, again = op(guarded, people["otto"], "rollback", {"name": "delay", "reason": "press it again"})
    assert status == 400 and "no known-good version" in again["message"]
    assert aliases(guarded, people["ada"]) == {"champion": 1}
    status, explicit = op(guarded, people["otto"], "rollback", {"name": "delay", "to": 2, "reason": "v2 was fine"})
    assert status == 200 and explicit["to_version"] == 2  # v2 was an approved champion before
    kinds = sql(guarded, people["ada"], "SELECT kind, actor FROM deployments WHERE alias = 'champion' ORDER BY id")
    assert kinds[-3:] == [("move", "alice"), ("rollback", "otto"), ("rollback", "otto")]
