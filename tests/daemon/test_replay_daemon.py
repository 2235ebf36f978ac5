"""Replay at approval through a real daemon: a pending champion request gets its replay evidence from
the champion's logged traffic, off the request path; `vigil requests show ID`, the admin operation and
the console's approvals screen show it; scoring goes on answering while it runs; nobody can write it."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl
import pytest

from daemon_support import FEATURES, Daemon, add_people, op, start_daemon, wait_until

ROWS = 120  # answered rows: 12 requests of 10
LABELLED = 60


@pytest.fixture(scope="module")
def setting(served_home: Path, tmp_path_factory: pytest.TempPathFactory, flights_small: Path,
            sample_records: list[dict[str, Any]]) -> Iterator[tuple[Daemon, dict[str, str], int]]:
    """A daemon whose champion answered ROWS rows (LABELLED labelled), with v2's champion request pending."""
    from support import VIGIL
    import subprocess

    root = tmp_path_factory.mktemp("replay-daemon")
    home = root / "home"
    shutil.copytree(served_home, home)

    def vigil(*args: Any, env: dict[str, str] | None = None) -> Any:
        import os
        from support import Result

        done = subprocess.run([str(VIGIL), *map(str, args)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **(env or {})})
        return Result(done.returncode, done.stdout, done.stderr)

    people = add_people(home, vigil)
    daemon = start_daemon(home, root / "daemon.log")
    try:
        truth = pl.read_parquet(flights_small).drop_nulls(FEATURES).tail(200)["delayed"].to_list()
        answers = []
        for start in range(0, ROWS, 10):
            status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 10]})
            assert status == 200
            answers.append(answer)
        labels = [{"request_id": a["request_id"], "row_index": i, "label": truth[n * 10 + i]}
                  for n, a in enumerate(answers[:LABELLED // 10]) for i in range(10)]
        assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[1]["counts"] == {"recorded": LABELLED}
        wait_until(lambda: _sql(daemon, people["ada"], "SELECT count(*) FROM prediction_inputs__delay")
                   == [(ROWS,)], 30)
        request = _scored_while(daemon, lambda: op(daemon, people["otto"], "promote", {
            "name": "delay", "version": 2, "alias": "champion", "reason": "v2 looks better"}))
        assert request[0] == 200 and request[1]["status"] == "pending", request
        yield daemon, people, int(request[1]["request_id"])
    finally:
        daemon.stop()


def _sql(daemon: Daemon, token: str, text: str) -> list[tuple[Any, ...]]:
    status, found = op(daemon, token, "sql", {"query": text})
    assert status == 200, found
    return [tuple(row) for row in found["rows"]]


def _scored_while(daemon: Daemon, action: Callable[[], Any]) -> Any:
    """Run `action` while another thread keeps scoring; every prediction must be answered."""
    record = {"sched_dep_time": 900, "distance": 500.0, "temp": 50.0, "wind_speed": 10.0, "visib": 10.0,
              "carrier": "UA", "origin": "JFK"}
    statuses: list[int] = []
    stop = threading.Event()

    def score() -> None:
        while not stop.is_set():
            statuses.append(daemon.post("/v1/models/delay/predict", {"records": [record]},
                                        headers={"X-Request-Id": uuid.uuid4().hex})[0])

    worker = threading.Thread(target=score)
    worker.start()
    try:
        result = action()
        wait_until(lambda: len(statuses) >= 5, 30)
    finally:
        stop.set()
        worker.join(30)
    assert statuses and set(statuses) == {200}, statuses
    return result


def _replayed(daemon: Daemon, token: str, request_id: int) -> dict[str, Any] | None:
    status, shown = op(daemon, token, "request_show", {"id": request_id})
    assert status == 200, shown
    return shown["replay"] if shown["replay"]["status"] == "replayed" else None


def test_the_pending_request_is_replayed_and_shown_by_the_operation_and_the_cli(
        setting: tuple[Daemon, dict[str, str], int], vigil: Callable[..., Any]) -> None:
    daemon, people, request_id = setting
    replay = _scored_while(daemon, lambda: wait_until(lambda: _replayed(daemon, people["otto"], request_id), 60))
    assert replay["champion_version"] == 1 and replay["candidate_version"] == 2
    assert replay["rows_replayed"] >= ROWS and replay["rows_skipped"] == 0  # and the rows scored meanwhile
    assert 0.5 <= replay["agreement"] <= 1.0 and replay["score_psi"] >= 0 and 0 <= replay["score_ks"] <= 1
    assert replay["labelled_rows"] == LABELLED and replay["metric"] == "roc_auc"
    assert replay["candidate_metric"] is not None and replay["champion_metric"] is not None
    assert replay["detail"]["information_only"] is True
    runs = _sql(daemon, people["ada"], "SELECT trigger, status FROM job_runs WHERE job = 'replay'")
    assert ("request", "ok") in runs  # a job run, started when the request was filed, not the request itself

    shown = vigil("requests", "show", request_id, "--json", "--home", daemon.home, env={"VIGIL_TOKEN": people["bob"]})
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["replay"]["agreement"] == replay["agreement"]
    text = vigil("requests", "show", request_id, "--home", daemon.home, env={"VIGIL_TOKEN": people["bob"]})
    assert text.code == 0, text.err
    assert f"{replay['agreement']:.1%} of rows get the same decision" in text.out
    assert f"{LABELLED} rows: roc_auc candidate" in text.out and "information, not a gate" in text.out
    missing = vigil("requests", "show", "999", "--home", daemon.home, env={"VIGIL_TOKEN": people["bob"]})
    assert missing.code == 2 and "no promotion request 999" in missing.err and "Traceback" not in missing.err


def test_nobody_can_write_replay_evidence(setting: tuple[Daemon, dict[str, str], int]) -> None:
    daemon, people, request_id = setting
    wait_until(lambda: _replayed(daemon, people["otto"], request_id), 60)
    for statement in (f"UPDATE replay_evidence SET agreement = 1 WHERE request_id = {request_id}",
                      f"DELETE FROM replay_evidence WHERE request_id = {request_id}"):
        status, refused = op(daemon, people["ada"], "sql", {"query": statement})
        assert status == 400, refused
    audit = _sql(daemon, people["ada"], "SELECT actor FROM audit_log WHERE action = 'promotion.replay' "
                                        f"AND subject = 'promotion:{request_id}'")
    assert audit == [("vigil-replay",)]


def test_the_approvals_screen_shows_the_replay(setting: tuple[Daemon, dict[str, str], int],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from appliance.home import Home
    from tui.app import VigilApp

    daemon, people, request_id = setting
    replay = wait_until(lambda: _replayed(daemon, people["otto"], request_id), 60)
    monkeypatch.setenv("VIGIL_TOKEN", people["bob"])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    async def scenario() -> list[list[str]]:
        app = VigilApp(Home(daemon.home), refresh_s=0.5)
        async with app.run_test(size=(160, 60)) as pilot:
            await pilot.press("3")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if type(app.screen).__name__ == "ApprovalsScreen":
                    table = app.screen.query_one("#replay", DataTable)
                    if table.row_count > 2:
                        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
                await pilot.pause(0.1)
        raise AssertionError("the approvals screen showed no replay")

    rows = asyncio.run(scenario())
    by_label = {label: text for label, text in rows}
    assert by_label["agreement"] == f"{replay['agreement']:.1%} of rows get the same decision"
    assert by_label["replay"].startswith("champion v1's logged traffic re-scored by v2")
    assert f"{LABELLED} rows: roc_auc" in by_label["labelled"]
