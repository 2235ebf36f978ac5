"""`[jobs.export]`: the daemon keeps a lake directory current on a schedule; every run is a job run,
a failing run raises the job-failed alert, and a directory the daemon may not write to stops `vigil up`."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from daemon_support import admin, start_daemon, wait_until
from lake_support import lake_rows
from support import VIGIL


def _overdue(home: Path) -> None:
    """The last scheduled export ran a day ago: overdue, so the daemon runs it once at start-up."""
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    with open_context(Home(home)) as ctx:
        ctx.store.execute("UPDATE job_runs SET started_at = started_at - INTERVAL 1 DAY WHERE job = 'export'")
        ctx.store.execute("INSERT INTO job_runs (job, model_name, trigger, started_at, finished_at, status) "
                          "VALUES ('export', NULL, 'cron', ?, ?, 'ok')", [utc_now() - timedelta(days=1)] * 2)


def _startup_run(daemon: Any, after: int = 0) -> dict[str, Any]:
    return dict(wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "export"})["runs"]
                                    if r["trigger"] == "startup" and r["status"] in ("ok", "failed")
                                    and r["run_id"] > after], 60)[0])


def test_the_export_job_keeps_the_lake_current_and_a_failure_alerts(fresh_home: Path, tmp_path: Path) -> None:
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    (fresh_home / "vigil.toml").write_text('[jobs.export]\ncron = "*/15 * * * *"\ndirectory = "lake"\n'
                                           'box = "edge-9"\n')
    _overdue(fresh_home)
    with open_context(Home(fresh_home)) as ctx:  # served a day ago
        ctx.store.execute("INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, "
                          "api, latency_ms, flags) SELECT 'r' || i, 0, ?, 'delay', 1, 'champion', 'native', 1, [] "
                          "FROM range(25) t(i)", [utc_now() - timedelta(days=1)])
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert "export" in [j["job"] for j in admin(daemon, "job_schedule", {})["jobs"]]
        run = first = _startup_run(daemon)
        assert run["status"] == "ok", run["error"]
        detail = json.loads(run["detail"]) if isinstance(run["detail"], str) else run["detail"]
        lake = fresh_home / "exports" / "lake"
        assert detail["directory"] == str(lake) and detail["box"] == "edge-9"
        assert detail["rows"]["prediction_log"] == 25 and lake_rows(lake, "prediction_log") == [("edge-9", 25)]
        assert lake_rows(lake, "version_lineage") == [("edge-9", 2)]
    finally:
        daemon.stop()
    lake_file = fresh_home / "exports" / "elsewhere"
    lake_file.write_text("not a directory")
    (fresh_home / "vigil.toml").write_text('[jobs.export]\ncron = "*/15 * * * *"\ndirectory = "elsewhere"\n')
    _overdue(fresh_home)
    daemon = start_daemon(fresh_home, tmp_path / "daemon2.log")
    try:
        run = _startup_run(daemon, after=first["run_id"])
        assert run["status"] == "failed" and "is not a directory" in run["error"]
        alerts = wait_until(lambda: admin(daemon, "alerts", {})["alerts"], 30)
        assert ("job-failed", "export") in [(a["rule"], a["subject"]) for a in alerts]
    finally:
        daemon.stop()


def test_an_export_directory_outside_the_allowed_ones_stops_vigil_up(fresh_home: Path, tmp_path: Path) -> None:
    (fresh_home / "vigil.toml").write_text(f'[jobs.export]\ncron = "0 * * * *"\ndirectory = "{tmp_path}/lake"\n')
    done = subprocess.run([str(VIGIL), "up", "--home", str(fresh_home), "--port", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "[jobs.export] directory" in done.stderr and "allowed_dirs" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "lake").exists()
