"""The on-call path in the console against a real daemon with a drifted champion and an open
critical-drift incident: page -> see what drifted -> acknowledge -> rollback done within the key
budget, with no typing; a second rollback never flips back; `enter` drills down from an alert to its
incident, from there to the drift, and from an audit row to its before and after in full."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from appliance.core.identity import current_account
from console_support import until as _until, cells as _cells, notes as _notes, run as _run
from daemon_support import Daemon, start_daemon
from support import Result

pytest.importorskip("textual")

KEY_BUDGET = 10
CONSOLE_SECONDS = 15  # the path's waits on the console and daemon (the rest of 30 s is the person's)
PROMOTED_BECAUSE = ("v2 wins on the holdout and the calibration gate; promoted after the weekly review with the "
                    "data team, who checked the new weather features by hand")
NORMAL_REQUESTS = 20  # answered by v1 as champion, before v2


@pytest.fixture(scope="module")
def drifted(served_home: Path, sample_records: list[dict[str, Any]],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, str]]:
    """A daemon whose champion v2 replaced v1 (which answered traffic first), then drifted (temp +45)
    and opened a critical-drift incident; its users: the OS account (admin) and otto (operator)."""
    from appliance.admin_client import call

    root = tmp_path_factory.mktemp("oncall")
    home = root / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text("[jobs]\ndrift_retrain_windows = 0\n")
    daemon = start_daemon(home, root / "daemon.log")
    try:
        for i in range(NORMAL_REQUESTS):
            assert daemon.post("/v1/models/delay/predict", {"records": sample_records[2 * i:2 * i + 2]})[0] == 200
        call(str(home), "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": PROMOTED_BECAUSE})
        call(str(home), "user_add", {"name": current_account(), "role": "admin"})
        otto = str(call(str(home), "user_add", {"name": "otto", "role": "operator"})["token"])
        hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
        for start in range(0, len(hot), 50):
            assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 50]})[0] == 200
        for _ in range(2):  # drift rules need two consecutive windows
            call(str(home), "monitor_run", {"names": ["delay"], "window": "1h"})
        yield daemon, otto
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


@pytest.fixture(autouse=True)
def _as_otto(drifted: tuple[Daemon, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_TOKEN", drifted[1])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)


def _app(home: Path) -> Any:
    from appliance.home import Home
    from tui.app import VigilApp

    return VigilApp(Home(home), refresh_s=0.5)


def _on(app: Any, name: str) -> bool:
    return type(app.screen).__name__ == name


def _text(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


class Keys:
    """Presses keys through the pilot and counts every one."""

    def __init__(self, pilot: Any) -> None:
        self.pilot, self.count = pilot, 0

    async def press(self, *keys: str) -> None:
        self.count += len(keys)
        await self.pilot.press(*keys)


def test_enter_drills_from_alert_to_incident_to_drift_and_opens_an_audit_row_in_full(
        drifted: tuple[Daemon, str], vigil: Callable[..., Result]) -> None:
    daemon, _ = drifted
    shown = vigil("incident", "show", "1", "--home", daemon.home)  # the same context on the CLI
    assert shown.code == 0 and "drift that opened it: run " in shown.out and "temp PSI " in shown.out
    assert f"move     champion v1 -> v2 by {current_account()}: {PROMOTED_BECAUSE}" in shown.out

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("2")
            await _until(pilot, lambda: _on(app, "AlertsScreen") and _cells(app, "alerts"))
            await pilot.press("tab")  # from the incidents table to the alerts table
            assert app.focused.id == "alerts"
            first = app.screen.query_one("#alerts").coordinate_to_cell_key((0, 0)).row_key.value
            assert app.screen.alert_rows[first]["incident_id"] == 1  # the first alert joined incident 1
            await pilot.press("enter")
            drift = await _until(pilot, lambda: _on(app, "IncidentScreen") and _cells(app, "drift"))
            assert drift[0][:2] == ["temp", "critical"] and float(drift[0][2]) > 0.25
            assert "Drift that opened it: run " in _text(app, "#drift-title")
            timeline = _cells(app, "timeline")
            assert timeline[0][1:3] == ["opened", "vigil"] and "opened by alert" in timeline[0][3]
            deployments = _cells(app, "deployments")
            assert deployments[0][1:5] == ["move", "champion", "v1 → v2", current_account()]
            assert "Postmortem: incident 1" in _text(app, "#postmortem")
            await pilot.press("enter")
            features = await _until(pilot, lambda: _on(app, "DriftScreen") and _cells(app, "features"))
            assert features[0][:2] == ["temp", "critical"]
            await pilot.press("escape")
            await _until(pilot, lambda: _on(app, "IncidentScreen"))
            await pilot.press("escape", "5")
            rows = await _until(pilot, lambda: _on(app, "AuditScreen") and _cells(app, "audit"))
            moved = next(i for i, r in enumerate(rows) if r[3] == "alias.move")
            assert len(rows[moved][6]) < len(PROMOTED_BECAUSE)  # the table cuts the reason short
            app.screen.query_one("#audit").move_cursor(row=moved)
            await pilot.press("enter")
            body = await _until(pilot, lambda: _on(app, "TextView") and _text(app, "#text-view-body"))
            assert f"reason: {PROMOTED_BECAUSE}" in body
            assert 'before:\n{\n  "version": 1\n}' in body and '"version": 2' in body
            await pilot.press("escape")
            await _until(pilot, lambda: _on(app, "AuditScreen"))

    _run(scenario)


def test_page_to_rollback_within_the_key_budget_and_no_flip_back(drifted: tuple[Daemon, str]) -> None:
    from appliance.admin_client import call

    daemon, _ = drifted
    home = str(daemon.home)
    incident = call(home, "incident_show", {"id": 1})
    assert incident["status"] == "open" and incident["summary"].startswith("critical drift in temp")
    reason = f"incident 1: {incident['summary']}"

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(80, 24)) as pilot:
            keys = Keys(pilot)
            await _until(pilot, lambda: _cells(app, "models"))  # the overview, as the page arrives
            started = time.monotonic()
            await keys.press("2")
            await _until(pilot, lambda: _on(app, "AlertsScreen") and _cells(app, "incidents"))
            await keys.press("enter")
            drift = await _until(pilot, lambda: _on(app, "IncidentScreen") and _cells(app, "drift"))
            assert drift[0][:2] == ["temp", "critical"]  # what drifted, on the incident's screen
            await keys.press("a")
            await _until(pilot, lambda: _on(app, "ConfirmLine"))
            await keys.press("y")
            await _until(pilot, lambda: "acknowledged by otto" in _text(app, "#incident-title"))
            await keys.press("R")
            title = await _until(pilot, lambda: _on(app, "Confirm") and _text(app, ".dialog-title"))
            assert "champion v2 → v1" in title
            shown = "\n".join(str(w.render()) for w in app.screen.query("Static"))
            assert "Why v1: v1 is the most recent earlier champion whose time as champion did not end" in shown
            assert "Pre-flight now: loads ok" in shown and "golden_rows ok (40 of 40 recorded answers" in shown
            assert f"{NORMAL_REQUESTS} requests answered" in shown and "0.0% refused" in shown
            await keys.press("y")
            asked = await _until(pilot, lambda: _on(app, "Ask") and app.screen.query_one("#answer").value)
            assert asked == reason  # pre-filled from the incident
            await keys.press("enter")
            await _until(pilot, lambda: "delay: champion v2 → v1" in _notes(app))
            assert keys.count <= KEY_BUDGET, keys.count
            assert time.monotonic() - started < CONSOLE_SECONDS  # the console's share of the 30 s
            # a second R does not offer v2, the version just rolled away from
            await pilot.press("R")
            refused = await _until(pilot, lambda: [n for n in _notes(app) if "known-good" in n])
            assert "champion v1 of 'delay' has no known-good version" in refused[-1]
            assert _on(app, "IncidentScreen")

    _run(scenario)
    assert call(home, "show", {"name": "delay", "version": 1})["aliases"] == ["champion"]
    rolled = call(home, "audit_log", {"filter": "alias.rollback"})["rows"][0]
    assert rolled["actor"] == "otto" and rolled["reason"] == reason
    why = json.loads(rolled["details"])["why"] if isinstance(rolled["details"], str) else rolled["details"]["why"]
    assert why.startswith("v1 is the most recent earlier champion"), why  # the door's choice, not "--to"
    acked = call(home, "incident_show", {"id": 1})
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "otto"
    assert [d["kind"] for d in acked["deployments"]][-1] == "rollback"
