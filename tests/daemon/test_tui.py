"""The on-call console (`vigil tui`) driven by Textual's Pilot against a real daemon."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from appliance.core.identity import current_account
from console_support import until as _until, cells as _cells, status as _status, run as _run
from daemon_support import Daemon, start_daemon

pytest.importorskip("textual")


def _app(home: Path, refresh_s: float = 0.5) -> Any:
    from appliance.home import Home
    from tui.app import VigilApp

    return VigilApp(Home(home), refresh_s=refresh_s)


@pytest.fixture(autouse=True)
def _no_user_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_overview_shows_live_numbers(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    for i in range(30):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[i:i + 2]})[0] == 200

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            rows = await _until(pilot, lambda: _cells(app, "models"))
            assert rows[0][:4] == ["delay", "v1", "-", "-"]
            assert float(rows[0][4]) > 0  # requests per second over the last minutes
            assert float(rows[0][5]) > 0 and rows[0][6] == "0%"  # p95 ms, error rate
            assert rows[0][-1].strip("▁") != ""  # the requests/min sparkline shows the traffic
            # the least-funded objective's budget (a slow first answer on a busy box can spend latency's)
            assert re.fullmatch(r"(avail 100|latency -?\d+)%", rows[0][9]) and rows[0][10] == "no owner"
            status = await _until(pilot, lambda: "(admin)" in _status(app) and _status(app))
            assert f"{current_account()} (admin)" in status and "live 127.0.0.1:" in status
            label = str(app.screen.query_one("#spark-label").render())
            assert "30 answered, 0 rejected" in label
            await pilot.press("enter")
            versions = await _until(pilot, lambda: type(app.screen).__name__ == "ModelScreen"
                                    and _cells(app, "versions"))
            assert [r[0] for r in versions] == ["v2", "v1"] and versions[1][1] == "champion"

    _run(scenario)


def _token(home: Path, name: str, role: str) -> str:
    from appliance.admin_client import call

    return str(call(str(home), "user_add", {"name": name, "role": role})["token"])


def test_approve_flow_and_self_approval_refused(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.admin_client import call

    _token(daemon.home, current_account(), "admin")
    ann = _token(daemon.home, "ann", "approver")
    bob = _token(daemon.home, "bob", "approver")
    monkeypatch.setenv("VIGIL_TOKEN", ann)
    request = call(str(daemon.home), "promote", {"name": "delay", "version": 2, "alias": "champion",
                                                 "reason": "better on holdout"})
    assert request["status"] == "pending"

    async def approve_as(token: str) -> tuple[str, list[list[str]]]:
        monkeypatch.setenv("VIGIL_TOKEN", token)
        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("3")
            rows = await _until(pilot, lambda: type(app.screen).__name__ == "ApprovalsScreen"
                                and _cells(app, "requests"))
            assert rows[0][1:5] == ["delay", "v2", "champion", "pending"]
            gates = await _until(pilot, lambda: _cells(app, "gates"))
            assert [g[0] for g in gates][:2] == ["min_metric", "calibration"] and {g[1] for g in gates} == {"ok"}
            metrics = await _until(pilot, lambda: _cells(app, "metrics"))
            assert "roc_auc" in [m[0] for m in metrics]
            await pilot.press("A")
            await _until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            await pilot.press("y")
            message = await _until(pilot, lambda: [str(n.message) for n in app._notifications])
            return message[-1], rows

    async def scenario() -> None:
        refused, _ = await approve_as(ann)
        assert "ann requested promotion" in refused and "cannot approve it" in refused
        approved, _ = await approve_as(bob)
        assert f"request {request['request_id']} approved: delay champion is now v2" in approved

    _run(scenario)
    assert call(str(daemon.home), "show", {"name": "delay", "version": 2})["aliases"] == ["champion"]
    actions = [r["action"] for r in call(str(daemon.home), "audit_log", {"filter": "promotion"})["rows"]]
    assert actions[:2] == ["promotion.approved", "promotion.self_approval_refused"]


def test_rollback_end_to_end_and_wrong_role(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.admin_client import call

    call(str(daemon.home), "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "v2"})
    _token(daemon.home, current_account(), "admin")
    viewer = _token(daemon.home, "vic", "viewer")
    operator = _token(daemon.home, "otto", "operator")

    async def roll_back(token: str) -> tuple[Any, list[str]]:
        monkeypatch.setenv("VIGIL_TOKEN", token)
        app = _app(daemon.home)
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: _cells(app, "models"))
            await pilot.press("R")
            await _until(pilot, lambda: type(app.screen).__name__ == "Confirm")
            assert "champion v2 → v1" in str(app.screen.query_one(".dialog-title").render())
            await pilot.press("y")
            await _until(pilot, lambda: type(app.screen).__name__ == "Ask")
            await pilot.press(*"bad latency", "enter")
            notes = await _until(pilot, lambda: [str(n.message) for n in app._notifications])
            started = time.monotonic()
            champion = None
            if "→ v1" in notes[-1]:
                champion = await _until(pilot, lambda: _cells(app, "models")[0][1] == "v1" and time.monotonic())
            return (champion - started if champion else None), notes

    async def scenario() -> None:
        shown_after, notes = await roll_back(viewer)
        assert shown_after is None and "vic (viewer) may not run 'rollback'; it needs the operator role" in notes[-1]
        shown_after, notes = await roll_back(operator)
        assert notes[-1] == "delay: champion v2 → v1"
        assert shown_after < 1.0  # the overview shows the new champion within a second

    _run(scenario)
    assert call(str(daemon.home), "show", {"name": "delay", "version": 1})["aliases"] == ["champion"]
    denied = call(str(daemon.home), "audit_log", {"filter": "access.denied"})["rows"]
    assert denied[0]["actor"] == "vic" and denied[0]["subject"] == "operation:rollback"
    rolled = call(str(daemon.home), "audit_log", {"filter": "alias.rollback"})["rows"][0]
    assert rolled["actor"] == "otto" and rolled["reason"] == "bad latency"


def test_daemon_down_then_read_only_then_back(fresh_home: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = _app(fresh_home, refresh_s=0.3)
        async with app.run_test(size=(80, 24)) as pilot:
            status = await _until(pilot, lambda: "READ-ONLY (daemon down" in _status(app) and _status(app))
            assert "daemon down; vigil up starts it" in status
            rows = await _until(pilot, lambda: _cells(app, "models"))
            assert rows[0][:2] == ["delay", "v1"]  # read from the store file
            await pilot.press("R")
            notes = await _until(pilot, lambda: [str(n.message) for n in app._notifications])
            assert notes[-1] == "read-only: the daemon is down; start it with [b]vigil up[/b]"  # bold, no backticks
            assert type(app.screen).__name__ == "OverviewScreen"  # nothing was asked
            daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
            try:
                await _until(pilot, lambda: "live 127.0.0.1:" in _status(app))
                daemon.process.kill()  # unreachable: the pid is gone, the store free again
                daemon.process.wait(30)
                await _until(pilot, lambda: "READ-ONLY (daemon down" in _status(app))
                daemon = start_daemon(fresh_home, tmp_path / "daemon2.log")
                await _until(pilot, lambda: "live 127.0.0.1:" in _status(app))
                app.connection.timeout_s = 1.0
                daemon.process.send_signal(signal.SIGSTOP)  # alive but not answering
                try:
                    status = await _until(pilot, lambda: "NOT CONNECTED" in _status(app) and _status(app))
                    assert f"daemon pid {daemon.process.pid} does not answer; retrying" in status
                finally:
                    daemon.process.send_signal(signal.SIGCONT)
                await _until(pilot, lambda: "live 127.0.0.1:" in _status(app))  # back by itself
            finally:
                if daemon.process.poll() is None:
                    daemon.stop()

    _run(scenario)


def test_drift_alerts_jobs_audit_and_sql_screens(configured_daemon: Callable[[str], Daemon],
                                                 sample_records: list[dict[str, Any]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.admin_client import call

    daemon = configured_daemon("[jobs]\ndrift_retrain_windows = 0\n")
    hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
    for start in range(0, len(hot), 50):
        assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 50]})[0] == 200
    assert daemon.post("/v1/models/delay/predict", {"records": hot[:1], "request_id": "tui-why"})[0] == 200
    for _ in range(2):  # drift rules need two consecutive windows
        call(str(daemon.home), "monitor_run", {"names": ["delay"], "window": "1h"})
    monkeypatch.chdir(tmp_path)

    async def notes(pilot: Any, app: Any, count: int) -> list[str]:
        return await _until(pilot, lambda: len(app._notifications) >= count
                            and [str(n.message) for n in app._notifications])

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            await _until(pilot, lambda: app.model_names)
            await pilot.press("colon", *"drift delay", "enter")
            features = await _until(pilot, lambda: type(app.screen).__name__ == "DriftScreen"
                                    and _cells(app, "features"))
            assert features[0][0] == "temp" and features[0][1] == "critical" and float(features[0][2]) > 0.25
            assert features[0][3].startswith("█") and _cells(app, "segments")
            await pilot.press("escape", "2")
            incidents = await _until(pilot, lambda: type(app.screen).__name__ == "AlertsScreen"
                                     and _cells(app, "incidents"))
            assert incidents[0][1] == "open" and incidents[0][2] == "critical" and "temp" in incidents[0][4]
            assert any(r[4] == "drift-critical" and r[5] == "temp" for r in _cells(app, "alerts"))
            await pilot.press("a", "y")
            await _until(pilot, lambda: _cells(app, "incidents")[0][1] == "acknowledged")
            await pilot.press("n", *"looking at the weather feed", "enter")
            await pilot.press("e")
            await _until(pilot, lambda: (tmp_path / "postmortem-incident-1.md").exists())
            assert "looking at the weather feed" in (tmp_path / "postmortem-incident-1.md").read_text()
            await pilot.press("S", *"feed fixed", "enter")
            await _until(pilot, lambda: not _cells(app, "incidents"))  # resolved: no longer open
            await pilot.press("4")
            schedule = await _until(pilot, lambda: type(app.screen).__name__ == "JobsScreen"
                                    and _cells(app, "schedule"))
            assert {r[0] for r in schedule} == {"monitor", "rollup", "retention", "report", "replay"} and all(r[2] != "-" for r in schedule)
            await pilot.press("m")  # (earlier notifications expire meanwhile: wait for this one by its text)
            done = await _until(pilot, lambda: [m for m in (str(n.message) for n in app._notifications)
                                                if m.startswith("drift check done")])
            assert done[-1].startswith("drift check done: delay")
            await pilot.press("5")
            await _until(pilot, lambda: type(app.screen).__name__ == "AuditScreen" and _cells(app, "audit"))
            await pilot.press("slash", *"incident", "enter")
            rows = await _until(pilot, lambda: "filter 'incident'" in str(app.screen.query_one("#chain").render())
                                and _cells(app, "audit"))
            assert [r[3] for r in rows] == ["incident.resolve", "incident.note", "incident.acknowledge",
                                           "incident.open"]
            assert "chain intact" in str(app.screen.query_one("#chain").render())
            await pilot.press("6")
            await _until(pilot, lambda: type(app.screen).__name__ == "SqlScreen")
            await pilot.press(*"SELECT version, count(*) AS n FROM prediction_log GROUP BY ALL", "enter")
            result = await _until(pilot, lambda: _cells(app, "result"))
            assert result == [["1", str(len(hot) + 1)]]  # and the request explained above
            app.screen.query_one("#query").value = ""
            await pilot.press(*"DELETE FROM audit_log", "enter")
            await _until(pilot, lambda: "error:" in str(app.screen.query_one("#sql-status").render()))
            await pilot.press("escape", "question_mark")
            await _until(pilot, lambda: type(app.screen).__name__ == "Help")
            await pilot.press("escape", "colon", *"request tui-why", "enter")
            view = await _until(pilot, lambda: type(app.screen).__name__ == "Help"
                                and str(app.screen.query_one("Static").render()))
            assert "request tui-why" in view and "model-agnostic" in view and "temp = " in view
            await pilot.press("escape", "colon", *"model nosuch", "enter")
            missing = await notes(pilot, app, 1)
            assert missing[-1] == "no model 'nosuch'; models: delay"

    _run(scenario)
    assert call(str(daemon.home), "audit_verify", {})["ok"]
