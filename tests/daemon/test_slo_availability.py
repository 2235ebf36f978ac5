"""A version that fails to score some requests (its team code raises: 500) spends the availability budget
and pages once; its clients' mistakes (4xx) spend none."""

from __future__ import annotations

import getpass
import json
import signal
from pathlib import Path
from typing import Any, Callable

from daemon_support import Daemon, admin, op, start_daemon, token_of
from support import TEAM_CODE, team_model

FRAGILE = TEAM_CODE.replace(
    "        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)\n",
    "        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)\n"
    "        if (values[:, 2] > 500).any():  # a temperature no flight has seen: the team's code breaks\n"
    "            raise ValueError('temperature out of this world')\n")
CONFIG = """
[slo.models.delay]
objectives = ["availability"]

[owners.models.delay]
team = "risk"
contact = "oncall-risk@example.com"
"""


def _fragile_model(tmp_path: Path, flights: Path) -> dict[str, Any]:
    import support

    original = support.TEAM_CODE
    support.TEAM_CODE = FRAGILE
    try:
        return team_model(tmp_path, flights)
    finally:
        support.TEAM_CODE = original


def _serve_fragile(home: Path, tmp_path: Path, flights: Path, vigil: Callable[..., Any]) -> Daemon:
    assert FRAGILE != TEAM_CODE
    team = _fragile_model(tmp_path, flights)
    assert vigil("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    tokens = {role: token_of(vigil("users", "add", name, "--role", role, "--home", home).out)
              for name, role in (("ada", "admin"), ("otto", "operator"), ("bob", "approver"))}
    (home / "vigil.toml").write_text(CONFIG)
    daemon = start_daemon(home, tmp_path / "daemon.log")
    assert vigil("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home,
                 env={"VIGIL_TOKEN": tokens["admin"]}).code == 0
    imported = vigil("import", "delay", team["model"], "--spec", team["spec"], "--home", home, "--json",
                     env={"VIGIL_TOKEN": tokens["operator"]})
    assert imported.code == 0, imported.err
    version = json.loads(imported.out)["version"]
    status, request = op(daemon, tokens["operator"], "promote", {"name": "delay", "version": version,
                                                                "alias": "champion", "reason": "team model"})
    assert status == 200 and op(daemon, tokens["approver"], "approve", {"id": request["request_id"]})[0] == 200
    return daemon


def test_a_version_that_fails_some_requests_spends_the_availability_budget_and_pages_once(
        fresh_home: Path, tmp_path: Path, flights_small: Path, vigil: Callable[..., Any],
        sample_records: list[dict[str, Any]]) -> None:
    daemon = _serve_fragile(fresh_home, tmp_path, flights_small, vigil)
    try:
        for record in sample_records[:40]:
            assert daemon.post("/v1/models/delay/predict", {"records": [record]})[0] == 200
        for record in sample_records[:40]:
            assert daemon.post("/v1/models/delay/predict", {"records": [{**record, "temp": 999.0}]})[0] == 500
        for record in sample_records[:10]:  # the client's mistakes: 4xx, no budget spent
            status, _ = daemon.post("/v1/models/delay/predict", {"records": [{**record, "temp": "hot"}]})
            assert 400 <= status < 500
        kept = admin(daemon, "sql", {"query": "SELECT status >= 500, reason, count(*) FROM rejected_requests "
                                              "GROUP BY ALL ORDER BY 1"})["rows"]
        assert [(r[0], r[2]) for r in kept] == [(False, 10), (True, 40)] and kept[1][1] == "scoring_failed"
        admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
        admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
        pages = [a for a in admin(daemon, "alerts", {"all": True})["alerts"] if a["rule"] == "slo-burn-page"]
        assert len(pages) == 1 and pages[0]["subject"] == "availability"  # twice judged, paged once
        assert pages[0]["message"].startswith(
            "delay: availability SLO (99.5% of requests answered without a server error (5xx) over 30d) is burning "
            "its error budget at 100x over 1h and 100x over 5m (page above 14.4x)")  # 40 of 80: 0.5 / 0.005
        assert "40 of 80 requests bad in the last 1h; owner risk <oncall-risk@example.com>" in pages[0]["message"]
        incidents = admin(daemon, "incidents", {"all": True})["incidents"]
        assert [(i["model_name"], i["owner"]) for i in incidents] == [("delay", "risk <oncall-risk@example.com>")]
    finally:
        daemon.stop(signal.SIGKILL)



def test_requests_refused_unkept_under_load_spend_the_availability_budget(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]]) -> None:
    """A saturated prediction log answers 503 at once and keeps no row; the count is stored (here by the
    shutdown, else by the next rollup) and spends the availability budget once the rollups pass its minute."""
    from datetime import timedelta

    from appliance.clock import utc_now
    from appliance.home import Home
    from appliance.home.context import open_context
    from appliance.monitoring.dashboard import roll_up
    from appliance.monitoring.slo import model_slos

    daemon = configured_daemon('[serving]\nmax_pending_log_rows = 100\n\n'
                               '[slo.models.delay]\nobjectives = ["availability"]\n')
    for start in range(0, 30):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 1]})[0] == 200
    for _ in range(3):  # 150 rows never fit a log that holds 100: refused at once, nothing stored
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:150]})[0] == 503
    assert daemon.post("/v1/models/nosuch/predict", {"records": sample_records[:1]})[0] == 404
    kept = admin(daemon, "sql", {"query": "SELECT count(*) FROM rejected_requests WHERE status >= 500"})["rows"]
    assert kept == [[0]]
    assert daemon.stop() == 0
    later = utc_now() + timedelta(minutes=3)
    with open_context(Home(daemon.home)) as ctx:
        stored = ctx.store.rows("SELECT model_name, sum(server_errors)::INT AS n FROM failure_rollups GROUP BY ALL")
        assert stored == [{"model_name": "delay", "n": 3}]  # the made-up model's name counted for nobody
        roll_up(ctx, now=later)
        availability = model_slos(ctx, "delay", later)["objectives"][0]
    assert (availability["objective"], availability["good"], availability["bad"]) == ("availability", 30, 3)


def test_requests_shed_by_a_full_queue_count_for_the_model_they_name(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]]) -> None:
    """One worker thread and a queue of one: most of a burst is shed with 503 before it is read. Each shed
    request naming a served model (native, OIP or MLflow door) is stored once, at shutdown; a made-up name
    counts for nobody."""
    from concurrent.futures import ThreadPoolExecutor

    from appliance.home import Home
    from appliance.home.context import open_context

    daemon = configured_daemon("[serving]\nthreads = 1\nmax_queue = 1\n")
    paths = ["/v1/models/delay/predict", "/v2/models/delay/infer", "/invocations", "/v1/models/nosuch/predict"]
    body = {"records": sample_records[:200]}

    def send(i: int) -> tuple[str, int]:
        path = paths[i % len(paths)]
        return path, daemon.post(path, body)[0]

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(send, range(96)))
    shed = {path: sum(1 for p, status in answers if p == path and status == 503) for path in paths}
    assert sum(shed[p] for p in paths[:3]) > 0, answers  # the burst was shed in part
    assert daemon.stop() == 0
    with open_context(Home(daemon.home)) as ctx:
        stored = dict(ctx.store.execute("SELECT model_name, sum(server_errors)::INT FROM failure_rollups GROUP BY ALL"))
    assert stored == {"delay": sum(shed[p] for p in paths[:3])}  # the made-up model's 503s: nobody's
