"""The scheduler runs on anything that provides its host protocol (appliance/jobs/host.py), not only the
daemon's Service: here a home opened in the test, with APScheduler's own scheduler (not started)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from appliance.clock import utc_now
from appliance.home.context import AppContext, open_context
from appliance.home import Home
from appliance.jobs.scheduler import Jobs


class Host:
    """A home's context and a lock: what the jobs need, without a daemon."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.home = ctx.home
        self.config = ctx.config
        self.write_lock = threading.Lock()
        self.refreshed = 0

    def context(self) -> AppContext:
        return self.ctx

    def refresh_routes(self) -> None:
        self.refreshed += 1

    def prediction_commits(self) -> int:
        return 0

    def version_outcomes(self, model_name: str, version: str) -> tuple[int, int]:
        return 0, 0

    def deliver_alerts(self, changes: list[Any]) -> None:
        pass


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        opened.store.execute("INSERT INTO models VALUES ('m', 'binary', 'test', 'me', ?)", [utc_now()])
        yield opened


def test_a_requested_retrain_is_queued_with_its_requester_as_json(ctx: AppContext) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs = Jobs(Host(ctx), scheduler)
    asked = jobs.request_retrain("m", "labels arrived", 'o"brien \\ ops', trigger="event")
    run = ctx.store.rows("SELECT job, model_name, trigger, status, detail FROM job_runs WHERE run_id = ?",
                         [asked["run_id"]])[0]
    assert (run["job"], run["model_name"], run["trigger"], run["status"]) == ("retrain", "m", "event", "queued")
    assert json.loads(run["detail"]) == {"requested_by": 'o"brien \\ ops'}
    assert [job.id for job in scheduler.get_jobs()] == [f"retrain:m:{asked['run_id']}"]
    assert asked == {"queued": True, "run_id": asked["run_id"], "model": "m", "trigger": "event",
                     "follow": "vigil jobs --job retrain"}
