"""Error budgets attacked further, with real clients against a real `vigil up`.

A scoring client bursts at a daemon of one worker thread and a queue of one through every scoring door
(OIP with a version, MLflow, a percent-encoded or case-changed name, GET, made-up names): only 503s shed
for a served model's name count, each once, stored at a graceful stop and never again after a restart and
a rollup. A kill -9 right after a burst loses no acknowledged prediction. A page whose objective the
configuration removes resolves when an operator runs the checks; a viewer is refused and changes nothing.
"""

from __future__ import annotations

import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from daemon_support import Daemon, op, start_daemon

SLOW = """
[serving]
threads = 1
max_queue = 1

[slo.models.delay]
objectives = ["availability", "latency"]
latency_threshold_ms = 0.001
latency_target = 0.99
"""
NO_LATENCY = SLOW.replace('["availability", "latency"]', '["availability"]')
COUNTED = ["/v1/models/delay/predict", "/v2/models/delay/versions/1/infer", "/v1/models/de%6Cay/predict",
           "/invocations"]
NOBODY = ["/v1/models/DELAY/predict", "/v2/models/nosuch/versions/1/infer", "/v1/models/nosuch/predict",
          "/v2/models/Delay/infer"]


@pytest.fixture(scope="module")
def state(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A copy of the served home with a latency objective no request meets; ada (admin), otto (operator)
    and vera (viewer); the running daemon under "daemon" (tests replace it in order)."""
    from appliance.admin_client import call

    home = tmp_path_factory.mktemp("slo-attacks-more") / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text(SLOW, encoding="utf-8")
    found: dict[str, Any] = {"home": home, "daemon": start_daemon(home, home.parent / "daemon.log")}
    try:
        tokens = {"ada": str(call(str(home), "user_add", {"name": "ada", "role": "admin"})["token"])}
        for name, role in (("otto", "operator"), ("vera", "viewer")):
            status, added = op(found["daemon"], tokens["ada"], "user_add", {"name": name, "role": role})
            assert status == 200, added
            tokens[name] = str(added["token"])
        found["tokens"] = tokens
        yield found
    finally:
        if found["daemon"].process.poll() is None:
            found["daemon"].stop()


def _restart(state: dict[str, Any], config: str | None = None) -> Daemon:
    if config is not None:
        (state["home"] / "vigil.toml").write_text(config, encoding="utf-8")
    state["daemon"] = start_daemon(state["home"], state["home"].parent / "daemon.log")
    return state["daemon"]


def _stored_errors(home: Path) -> dict[str, int]:
    from appliance.home import Home
    from appliance.home.context import open_context

    with open_context(Home(home)) as ctx:
        return dict(ctx.store.execute("SELECT model_name, sum(server_errors)::INT FROM failure_rollups GROUP BY ALL"))


def _logged(home: Path) -> set[str]:
    from appliance.home import Home
    from appliance.home.context import open_context

    with open_context(Home(home)) as ctx:
        return {str(r[0]) for r in ctx.store.execute("SELECT DISTINCT request_id FROM prediction_log")}


def _pages(daemon: Daemon, token: str) -> list[dict[str, Any]]:
    status, found = op(daemon, token, "alerts", {"all": True})
    assert status == 200, found
    return [a for a in found["alerts"] if a["rule"] == "slo-burn-page"]


def test_a_made_up_or_case_changed_name_is_nobody_and_get_is_not_a_scoring_request(
        state: dict[str, Any], sample_records: list[dict[str, Any]]) -> None:
    daemon = state["daemon"]
    for path in NOBODY:  # unburdened: none of them is served, so none may be counted when shed
        assert daemon.post(path, {"records": sample_records[:1]})[0] in (400, 404), path  # OIP reads the body first
    assert daemon.post("/v1/models/de%6Cay/predict", {"records": sample_records[:1]})[0] == 200
    assert daemon.get("/v1/models/delay/predict")[0] in (404, 405)


def test_a_page_then_a_burst_through_every_door_counts_only_served_names_once(
        state: dict[str, Any], sample_records: list[dict[str, Any]]) -> None:
    daemon, tokens = state["daemon"], state["tokens"]
    for start in range(60):  # none within 0.001 ms: the latency objective pages
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 1]})[0] == 200
    status, ran = op(daemon, tokens["otto"], "monitor_run", {"names": ["delay"], "window": "1h"})
    assert status == 200, ran
    assert [(p["subject"], p["status"]) for p in _pages(daemon, tokens["otto"])] == [("latency", "open")]
    body = {"records": sample_records[:200]}
    doors = [("POST", p) for p in COUNTED + NOBODY] + [("GET", "/v1/models/delay/predict")]

    def send(i: int) -> tuple[str, str, int]:
        method, path = doors[i % len(doors)]
        return method, path, daemon.request(method, path, body if method == "POST" else None)[0]

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(send, range(9 * 12)))
    counted = sum(1 for m, p, s in answers if m == "POST" and p in COUNTED and s == 503)
    assert counted > 0 and any(s == 503 for m, p, s in answers if p in NOBODY or m == "GET"), answers
    state["ok"] = sum(1 for m, p, s in answers if s == 200)
    assert daemon.stop() == 0
    assert _stored_errors(state["home"]) == {"delay": counted}  # stored once at the graceful stop
    state["counted"] = counted


def test_a_removed_objective_resolves_its_page_for_an_operator_and_not_for_a_viewer(state: dict[str, Any]) -> None:
    daemon = _restart(state, NO_LATENCY)
    tokens = state["tokens"]
    status, refused = op(daemon, tokens["vera"], "monitor_run", {"names": ["delay"], "window": "1h"})
    assert status == 403, refused
    assert [p["status"] for p in _pages(daemon, tokens["vera"])] == ["open"]  # the viewer changed nothing
    status, ran = op(daemon, tokens["otto"], "monitor_run", {"names": ["delay"], "window": "1h"})
    assert status == 200 and ran["slo"]["errors"] == [], ran
    assert [(p["subject"], p["status"]) for p in _pages(daemon, tokens["otto"])] == [("latency", "resolved")]
    assert daemon.stop() == 0
    assert _stored_errors(state["home"]) == {"delay": state["counted"]}  # no second count after restart


def test_kill_9_right_after_a_burst_loses_no_acknowledged_prediction(
        state: dict[str, Any], sample_records: list[dict[str, Any]]) -> None:
    daemon = _restart(state, SLOW)

    def send(i: int) -> tuple[int, Any]:
        return daemon.post("/v1/models/delay/predict", {"records": sample_records[i % 150:i % 150 + 3]})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(send, range(64)))
    daemon.stop(signal.SIGKILL)
    acknowledged = {str(body["request_id"]) for status, body in answers if status == 200}
    assert acknowledged, answers
    assert acknowledged <= _logged(state["home"])  # every 200 is in the log after the kill
