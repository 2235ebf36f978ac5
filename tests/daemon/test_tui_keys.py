"""The console's keys and layout driven by Pilot against one real daemon (shared by this module: an
incident from critical drift on `temp`, champion v2 over v1): j/k, acknowledge with a one-line
confirm, a danger confirm that `enter` does not confirm, the live filter, command prefixes and
completion, the horizontal scroll kept across refreshes, severity styled, column priorities; and the
read-only status line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from console_support import until as _until, table as _table, cells as _cells, notes as _notes, run as _run
from daemon_support import Daemon, start_daemon

pytest.importorskip("textual")


@pytest.fixture(scope="module")
def console_daemon(served_home: Path, sample_records: list[dict[str, Any]],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    from appliance.admin_client import call

    root = tmp_path_factory.mktemp("keys")
    home = root / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text("[jobs]\ndrift_retrain_windows = 0\n")
    daemon = start_daemon(home, root / "daemon.log")
    try:
        call(str(home), "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "v2"})
        hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
        for start in range(0, len(hot), 50):
            assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 50]})[0] == 200
        for _ in range(2):  # drift rules need two consecutive windows
            call(str(home), "monitor_run", {"names": ["delay"], "window": "1h"})
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(autouse=True)
def _no_user_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _app(home: Path, refresh_s: float = 0.3) -> Any:
    from appliance.home import Home
    from tui.app import VigilApp

    return VigilApp(Home(home), refresh_s=refresh_s)


def _labels(app: Any, table_id: str) -> list[str]:
    return [str(c.label) for c in _table(app, table_id).columns.values()]


def _screen(app: Any) -> str:
    return type(app.screen).__name__


async def _refreshed(pilot: Any, app: Any) -> None:
    """Wait for two more refreshes of the current screen (one that started before now may be stale)."""
    shown = app.screen.shown
    await _until(pilot, lambda: app.screen.shown >= shown + 2)


def test_j_k_move_and_scroll_is_kept_across_refreshes(console_daemon: Daemon) -> None:
    from appliance.admin_client import call

    async def scenario() -> None:
        app = _app(console_daemon.home)
        async with app.run_test(size=(60, 20)) as pilot:
            await pilot.press("5")
            await _until(pilot, lambda: _screen(app) == "AuditScreen" and len(_cells(app, "audit")) >= 4)
            table = _table(app, "audit")
            assert table.has_focus and table.cursor_row == 0
            await pilot.press("j", "j", "down")
            assert table.cursor_row == 3
            await pilot.press("k")
            assert table.cursor_row == 2
            await pilot.press("l", "l", "l")
            scrolled = await _until(pilot, lambda: table.scroll_x)
            assert scrolled > 0 and table.max_scroll_x > 0  # 60 columns: the audit is wider than the screen
            await _refreshed(pilot, app)
            assert table.scroll_x == scrolled and table.cursor_row == 2  # unchanged rows: kept
            rows = table.row_count
            call(str(console_daemon.home), "incident_note", {"id": 1, "text": "a new audit row"})
            await _until(pilot, lambda: table.row_count == rows + 1)
            await pilot.pause(0.2)
            assert table.scroll_x == scrolled  # rows changed (the table refilled): the scroll stays
            await pilot.press("h", "h", "h")
            await _until(pilot, lambda: table.scroll_x == 0)

    _run(scenario)


def test_acknowledge_asks_on_one_line(console_daemon: Daemon) -> None:
    from appliance.admin_client import call

    def status() -> str:
        return str(call(str(console_daemon.home), "incident_show", {"id": 1})["status"])

    async def scenario() -> None:
        app = _app(console_daemon.home)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("2")
            await _until(pilot, lambda: _screen(app) == "AlertsScreen" and _cells(app, "incidents"))
            await pilot.press("a")
            await _until(pilot, lambda: _screen(app) == "ConfirmLine")
            assert "acknowledge incident 1?" in str(app.screen.query_one("#confirm-line").render())
            await pilot.press("n")
            await _until(pilot, lambda: _screen(app) == "AlertsScreen")
            await pilot.press("a")
            await _until(pilot, lambda: _screen(app) == "ConfirmLine")
            await pilot.press("enter")  # enter never says yes
            await _until(pilot, lambda: _screen(app) == "AlertsScreen")
            assert _notes(app)[-1] == "cancelled: y goes ahead"
            await _refreshed(pilot, app)
            assert status() == "open" and _cells(app, "incidents")[0][1] == "open"
            await pilot.press("a", "y")
            await _until(pilot, lambda: _cells(app, "incidents")[0][1] == "acknowledged")
            assert status() == "acknowledged"

    _run(scenario)


def test_danger_confirm_does_not_take_enter_for_yes(console_daemon: Daemon) -> None:
    from appliance.admin_client import call

    async def scenario() -> None:
        app = _app(console_daemon.home)
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: _cells(app, "models"))
            await pilot.press("R")
            await _until(pilot, lambda: _screen(app) == "Confirm")
            assert "y: go ahead    n / esc / enter: cancel" in str(app.screen.query_one(".dialog-keys").render())
            await pilot.press("enter")
            await _until(pilot, lambda: _screen(app) == "OverviewScreen")  # no reason asked: nothing happens
            await pilot.press("r")  # lower-case r is not rollback
            await pilot.pause(0.3)
            assert _screen(app) == "OverviewScreen"

    _run(scenario)
    assert call(str(console_daemon.home), "show", {"name": "delay", "version": 2})["aliases"] == ["champion"]


def test_live_filter_narrows_as_you_type_and_esc_clears(console_daemon: Daemon) -> None:
    async def scenario() -> None:
        app = _app(console_daemon.home, refresh_s=3600)
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.press("2")
            everything = await _until(pilot, lambda: _screen(app) == "AlertsScreen" and _cells(app, "alerts"))
            assert len(everything) >= 2 and any(r[5] != "temp" for r in everything)
            await pilot.press("slash", "t", "e")  # no enter, no refresh (hourly here): narrowed as typed
            narrowed = await _until(pilot, lambda: app.screen.filter_text == "te" and _cells(app, "alerts"))
            assert all("te" in " ".join(r).lower() for r in narrowed)
            await pilot.press("m", "p")
            temp = await _until(pilot, lambda: app.screen.filter_text == "temp" and _cells(app, "alerts"))
            assert len(temp) < len(everything) and all("temp" in " ".join(r) for r in temp)
            await pilot.press("z")
            await _until(pilot, lambda: app.screen.filter_text == "tempz")
            assert _cells(app, "alerts") == [] and _cells(app, "incidents") == []
            await pilot.press("backspace", "enter")  # enter keeps the filter and goes back to the table
            assert _cells(app, "alerts") == temp and _table(app, "incidents").has_focus
            await pilot.press("escape")
            assert _cells(app, "alerts") == everything and not app.screen.query("FilterBar")
            assert _screen(app) == "AlertsScreen"  # esc cleared the filter; a second esc goes back
            await pilot.press("slash", *"temp", "enter", "1", "2")
            assert app.screen.filter_text == "" and _cells(app, "alerts") == everything  # left: cleared

    _run(scenario)


def test_command_prefixes_aliases_and_completion(console_daemon: Daemon) -> None:
    async def scenario() -> None:
        app = _app(console_daemon.home, refresh_s=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: app.model_names and app.incident_ids)
            await pilot.press("colon", "a", "l", "enter")
            await _until(pilot, lambda: _screen(app) == "AlertsScreen")
            await pilot.press("colon", "a", "enter")
            assert _notes(app)[-1] == "':a' could be alerts, approvals, audit; type more of it"
            await pilot.press("colon", *"dr")
            answer = app.screen.query_one("#answer")
            await _until(pilot, lambda: answer._suggestion == "drift")
            await pilot.press("tab", "space", "d")
            await _until(pilot, lambda: answer._suggestion == "drift delay")
            assert str(app.screen.query_one("#hint").render()).startswith("enter: drift delay")  # a unique prefix
            await pilot.press("tab")
            assert answer.value == "drift delay"
            await pilot.press("enter")
            await _until(pilot, lambda: _screen(app) == "DriftScreen")
            await pilot.press("escape", "colon", *"inc ")
            await _until(pilot, lambda: app.screen.query_one("#answer")._suggestion == "inc 1")
            await pilot.press("tab", "enter")
            await _until(pilot, lambda: _screen(app) == "IncidentScreen")
            await pilot.press("escape", "colon", *"rb del", "enter")
            await _until(pilot, lambda: _screen(app) == "Confirm")
            assert "Roll back delay" in str(app.screen.query_one(".dialog-title").render())
            await pilot.press("n", "colon", "q", "enter")
            await _until(pilot, lambda: not app.is_running)

    _run(scenario)


def test_severity_is_styled_and_narrow_columns_keep_drift_and_alerts(console_daemon: Daemon) -> None:
    from rich.text import Text

    async def scenario() -> None:
        app = _app(console_daemon.home, refresh_s=3600)
        async with app.run_test(size=(60, 20)) as pilot:
            rows = await _until(pilot, lambda: _cells(app, "models"))
            assert _labels(app, "models") == ["model", "champ", "req/s", "err", "worst drift", "alerts"]
            assert rows[0][1] == "v2" and rows[0][-1] == "3c 4w"  # open alerts: 3 critical, 4 warning
            title = str(app.screen.query_one("#models-title").render())
            assert title == "Models — last hour; hidden: canary, shadow, p95ms, budget left, owner, requests/min"
            drift, alerts = _table(app, "models").get_row_at(0)[-2:]
            assert isinstance(alerts, Text) and alerts.style == "bold red"
            assert isinstance(drift, Text) and drift.style == "bold red" and drift.plain.endswith("crit")
            await pilot.press("2")
            await _until(pilot, lambda: _screen(app) == "AlertsScreen" and _cells(app, "alerts"))
            severity = _labels(app, "alerts").index("severity")
            cells = [_table(app, "alerts").get_row_at(i)[severity] for i in range(_table(app, "alerts").row_count)]
            assert {str(c) for c in cells} <= {"critical", "warning"} and "critical" in {str(c) for c in cells}
            assert all(isinstance(c, Text) and c.style == {"critical": "bold red", "warning": "yellow"}[c.plain]
                       for c in cells)
            incident = _table(app, "incidents").get_row_at(0)
            assert [str(incident[0]), str(incident[2])] == ["1", "critical"] and incident[2].style == "bold red"

    _run(scenario)


def test_read_only_status_line_keeps_the_clock_without_backticks(fresh_home: Path) -> None:
    from tui.header import StatusBar

    async def scenario() -> None:
        app = _app(fresh_home)
        for size in ((60, 20), (80, 24)):
            async with app.run_test(size=size) as pilot:
                line = await _until(pilot, lambda: "(admin)" in str(app.screen.query_one(StatusBar).render())
                                    and app.last_refresh and str(app.screen.query_one(StatusBar).render()))
                assert "READ-ONLY" in line and "`" not in line and len(line) <= size[0] - 2
                assert re.search(r" \d\d:\d\d:\d\d$", line)  # the clock, kept at the right edge
                if size == (80, 24):
                    assert "READ-ONLY (daemon down; vigil up starts it)" in line
            app = _app(fresh_home)

    _run(scenario)
