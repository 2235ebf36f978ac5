"""HTML reports: written over real traffic, opened in headless Chromium with their charts, listed,
and written weekly by the report job; the console lists them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.core.identity import current_account
from daemon_support import Daemon, admin, start_daemon, wait_until

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """Debian's Chromium (`make test` installs it when missing); the test fails, not skips, without it."""
    found = os.environ.get("VIGIL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: `apt-get install chromium` (make test does this), or set VIGIL_CHROMIUM"
    return found


def open_in_chromium(path: Path) -> dict[str, Any]:
    """Load the file in headless Chromium, refusing every request but the file itself; what it shows."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})

            def refuse(route: Any) -> None:
                if route.request.url != path.as_uri():
                    requested.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", refuse)
            page.goto(path.as_uri(), wait_until="load")
            charts = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(svg => {
                const box = svg.getBoundingClientRect();
                return {name: svg.dataset.chart, width: box.width, height: box.height,
                        marks: svg.querySelectorAll('.mark').length,
                        painted: [...svg.querySelectorAll('.mark')].filter(m => {
                            const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length};
            })""")
            found = {"title": page.title(), "charts": {c["name"]: c for c in charts}, "requested": requested,
                     "text": page.inner_text("body"), "png": page.screenshot(full_page=True)}
        finally:
            browser.close()
    return found


def test_a_report_over_real_traffic_opens_in_chromium_with_its_charts(daemon: Daemon, tmp_path: Path,
                                                                     sample_records: list[dict[str, Any]],
                                                                     flights_small: Path) -> None:
    import polars as pl

    answers = []
    for start in range(0, 200, 10):  # normal traffic, then hot days (temp drifts), then labels for most
        answers.append(daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 10]})[1])
    hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
    for start in range(0, 200, 20):
        assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 20]})[0] == 200
    truth = pl.read_parquet(flights_small).drop_nulls(["sched_dep_time", "distance", "temp", "wind_speed", "visib",
                                                      "carrier", "origin"]).tail(200)["delayed"].to_list()
    labels = [{"request_id": a["request_id"], "row_index": i, "label": truth[n * 10 + i]}
              for n, a in enumerate(answers) for i in range(10)]
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[0] == 200
    for _ in range(2):  # two windows in a row over the drift: alerts open
        admin(daemon, "monitor_run", {"window": "1h"})
    assert admin(daemon, "alerts", {"model": "delay"})["alerts"]

    out = daemon.home / "exports" / "out" / "delay.html"  # through the daemon, outputs go under <home>/exports/
    made = admin(daemon, "report", {"name": "delay", "window": "24h", "out": str(out)})
    data = out.read_bytes()
    assert made["path"] == str(out) and made["bytes"] == len(data) and made["version"] == 1
    assert made["sha256"] == hashlib.sha256(data).hexdigest()
    assert b"<script" not in data and b"http://" not in data.replace(b"http://www.w3.org/2000/svg", b"")

    shown = open_in_chromium(out)
    assert shown["requested"] == []  # self-contained: nothing fetched besides the file
    assert shown["title"] == "delay: report for the last 24h"
    charts = shown["charts"]
    assert {"traffic", "latency", "drift:temp", "scores", "outcomes"} <= set(charts), sorted(charts)
    for name, chart in charts.items():
        assert chart["width"] > 300 and chart["height"] > 100, (name, chart)
        assert chart["painted"] > 0, (name, chart)  # bars and lines were laid out, not just declared
    assert charts["drift:temp"]["marks"] == 2 * 11  # reference and current bar for 10 bins and missing
    text = shown["text"]
    assert "30\nrequests (400 rows)" in text  # the summary card: 20 + 10 requests
    assert "drift-critical" in text  # the alerts of the window are listed
    assert len(shown["png"]) > 10_000

    listed = admin(daemon, "reports", {"name": "delay"})["reports"]
    assert [(r["report_id"], r["trigger"], r["exists"], r["created_by"]) for r in listed] == [
        (made["report_id"], "manual", True, current_account())]  # the daemon knows the caller, not the args
    audit = admin(daemon, "sql", {"query": "SELECT action, subject FROM audit_log WHERE action = 'report.write'"})
    assert [tuple(r) for r in audit["rows"]] == [("report.write", f"report:{made['report_id']}")]
    with pytest.raises(Exception, match="FILE.html"):
        admin(daemon, "report", {"name": "delay", "out": str(out.with_name("report.pdf"))})
    with pytest.raises(Exception, match="no model named"):
        admin(daemon, "report", {"name": "nope", "out": str(out.with_name("nope.html"))})


def test_the_weekly_report_job_writes_into_reports_and_the_console_lists_it(
        fresh_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (fresh_home / "vigil.toml").write_text('[jobs]\nreport_cron = "0 6 * * 1"\nreport_window = "7d"\n')
    with open_context(Home(fresh_home)) as ctx:  # the last weekly report was written 8 days ago: overdue
        ctx.store.execute("INSERT INTO job_runs (job, model_name, trigger, started_at, finished_at, status) "
                          "VALUES ('report', NULL, 'cron', ?, ?, 'ok')", [utc_now() - timedelta(days=8)] * 2)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert "report" in [j["job"] for j in admin(daemon, "job_schedule", {})["jobs"]]
        run = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "report"})["runs"]
                             if r["trigger"] == "startup" and r["status"] in ("ok", "failed")])[0]
        assert run["status"] == "ok", run["error"]
        listed = admin(daemon, "reports", {})["reports"]
        assert [(r["model_name"], r["trigger"], r["created_by"], r["exists"]) for r in listed] == [
            ("delay", "startup", "vigil-jobs", True)]
        path = Path(listed[0]["path"])
        assert path.parent == fresh_home / "reports" and path.name.startswith("delay-")
        assert "No requests in the window." in path.read_text()

        async def scenario() -> None:
            from textual.widgets import DataTable

            from tui.app import VigilApp

            app = VigilApp(Home(fresh_home), refresh_s=0.5)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.press("7")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if type(app.screen).__name__ == "ReportsScreen" and \
                            app.screen.query_one("#reports", DataTable).row_count:
                        break
                    await pilot.pause(0.1)
                table = app.screen.query_one("#reports", DataTable)
                row = [str(c) for c in table.get_row_at(0)]
                assert row[1] == "delay" and row[3] == "startup" and row[-1] == str(path)
                await pilot.press("enter")  # where the file is, and how to open it
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not app._notifications:
                    await pilot.pause(0.1)
                told = [str(n.message) for n in app._notifications]
                assert told and f"xdg-open {path}" in told[-1] and f"scp HOST:{path} ." in told[-1]
                path.unlink()  # a report file removed by hand shows as gone
                await pilot.press("ctrl+r")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not str(table.get_row_at(0)[-1]).endswith("(gone)"):
                    await pilot.pause(0.1)
                assert str(table.get_row_at(0)[-1]) == f"{path} (gone)"

        asyncio.run(scenario())
    finally:
        daemon.stop()
