"""Snapshots of the console's main screens at 60x20, 80x24 and 200x50 (SVG, as Textual exports them):
the small terminal, the classic one and a big one, where column priorities and the help's columns
change the layout.

The store is built for real (two trainings, users, a pending promotion), then every value that
differs between runs — times, paths, artifact hashes, the measured latency — is set to a fixed one,
so a screen differs from its snapshot only when the screen changed. The console reads it with no
daemon running (its read-only view). After an intended change, refresh the files with
`VIGIL_UPDATE_SNAPSHOTS=1 make test` and review them like code.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZES = [(60, 20), (80, 24), (200, 50)]
# (not the audit screen: its rows carry the times and hashes of their hash chain, which no fixed value can
# replace without breaking the chain it shows; its layout is driven by tests/daemon/test_tui_keys.py)
SCREENS = [("overview", ()), ("model", ("enter",)), ("approvals", ("3",)), ("alerts", ("2",)), ("jobs", ("4",)),
           ("help", ("question_mark",)), ("command", ("colon", "a", "l")), ("filter", ("slash", "d", "e"))]
FIXED = "TIMESTAMP '2026-03-02 09:30:00'"

NORMALISE = [
    f"UPDATE model_versions SET created_at = {FIXED}, spec_sha256 = repeat('5', 64), spec_path = NULL, "
    "model_card = regexp_replace(model_card, 'at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC', "
    "'at 2026-03-02 09:30:00 UTC', 'g')",
    f"UPDATE dataset_snapshots SET source = 'flights_small.parquet', created_at = {FIXED}",
    f"UPDATE deployments SET changed_at = {FIXED}",
    f"UPDATE aliases SET updated_at = {FIXED}",
    f"UPDATE promotion_requests SET requested_at = {FIXED}, decided_at = CASE WHEN decided_at IS NOT NULL "
    f"THEN {FIXED} END, expires_at = CASE WHEN expires_at IS NOT NULL THEN TIMESTAMP '2099-01-01 00:00:00' END",
    "UPDATE promotion_evidence SET value = 1.0, detail = 'p95 of single-row predict 1.00 ms (budget 50 ms)' "
    "WHERE gate = 'latency'",
    "UPDATE version_costs SET training_cpu_s = 2.5, training_wall_s = 1.5, memory_bytes = 250000, "
    "artifact_bytes = 600000, bench_cpu_s_per_1k = 3.0",
    "UPDATE promotion_evidence SET value = 1.0, detail = '3.000 vs champion v1''s 3.000 CPU s per 1,000 predictions "
    "(1.00x)' WHERE gate = 'cost'",
]


def _fix_artifacts(store: Any) -> None:
    """Artifact bytes differ between identical trainings (the zip holds times): give each a fixed hash."""
    for n, (old,) in enumerate(store.execute("SELECT artifact_sha256 FROM model_versions ORDER BY version"), 1):
        new = f"{n:x}" * 64
        store.execute("INSERT INTO artifacts SELECT ?, path, format, size_bytes, created_at FROM artifacts "
                      "WHERE sha256 = ?", [new, old])
        store.execute("UPDATE model_versions SET artifact_sha256 = ? WHERE artifact_sha256 = ?", [new, old])
        store.execute("DELETE FROM artifacts WHERE sha256 = ?", [old])


@pytest.fixture(scope="module")
def console_home(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> tuple[Path, str]:
    from appliance.admin_client import call
    from appliance.cli.main import main
    from appliance.store.connection import Store
    from tests.support import SPEC

    root = tmp_path_factory.mktemp("console")
    home = root / "home"
    assert main(["init", "--home", str(home)]) == 0
    for seed in (7, 8):
        spec = root / f"spec{seed}.toml"
        spec.write_text(SPEC.format(model="delay", seed=seed, source=f'path = "{flights_small.as_posix()}"',
                                    estimator="hist_gradient_boosting", params="{ max_iter = 30 }")
                        + '\n[fairness]\nprotected = ["origin"]\n')
        assert main(["train", "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    oncall = str(call(str(home), "user_add", {"name": "oncall", "role": "admin"})["token"])
    try:
        os.environ["VIGIL_TOKEN"] = oncall
        ann = str(call(str(home), "user_add", {"name": "ann", "role": "approver"})["token"])
        os.environ["VIGIL_TOKEN"] = ann
        call(str(home), "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "holiday data"})
    finally:
        del os.environ["VIGIL_TOKEN"]
    with Store.open(home / "vigil.duckdb") as store:
        for sql in NORMALISE:
            store.execute(sql)
        store.execute("UPDATE users SET created_at = ?", ["2026-03-02 09:30:00"])
        _fix_artifacts(store)
    return home, oncall


async def _screenshot(home: Path, size: tuple[int, int], keys: tuple[str, ...], light: bool = False) -> str:
    from appliance.home import Home
    from tui.app import VigilApp
    from tui.base import DataScreen

    app = VigilApp(Home(home), refresh_s=3600, show_clock=False, light=light)
    async with app.run_test(size=size) as pilot:
        for key in (None, *keys):
            if key is not None:
                await pilot.press(key)
            for _ in range(200):  # until this screen has its data (and the header its identity)
                await pilot.pause(0.05)
                screen = app.screen
                if app.identity is not None and (not isinstance(screen, DataScreen) or screen.shown > 0):
                    break
            else:
                raise AssertionError(f"{type(app.screen).__name__} got no data")
            await _settled(app)  # a refresh the first one set off (the cursor's row) ends too
        await pilot.pause(0.3)
        await _measured(pilot, app)
        return app.export_screenshot()


async def _measured(pilot: Any, app: Any) -> None:
    """Wait until every table has measured its columns: a DataTable widens them on its next Idle event,
    which a busy machine can hold back past a fixed pause (a screenshot then shows them at label width)."""
    from textual.widgets import DataTable

    for _ in range(100):
        pending = [t for t in app.screen.query(DataTable) if t._require_update_dimensions or t._updated_cells]
        if not pending:
            return
        await pilot.pause(0.05)
    raise AssertionError(f"tables never measured their columns: {[t.id for t in pending]}")


async def _settled(app: Any) -> None:
    """Wait for the app's workers; a refresh replaced by a newer one (cancelled) is waited past."""
    from textual.worker import WorkerCancelled

    for _ in range(20):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen,keys", SCREENS, ids=[s for s, _ in SCREENS])
def test_screen_matches_its_snapshot(console_home: tuple[Path, str], monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path, screen: str, keys: tuple[str, ...], size: tuple[int, int]) -> None:
    home, token = console_home
    monkeypatch.setenv("VIGIL_TOKEN", token)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _compare(asyncio.run(_screenshot(home, size, keys)), f"{screen}-{size[0]}x{size[1]}", tmp_path)


@pytest.mark.parametrize("variant", ["no-color", "light"])
def test_overview_without_colour_and_on_a_light_terminal(console_home: tuple[Path, str], variant: str,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home, token = console_home
    monkeypatch.setenv("VIGIL_TOKEN", token)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    if variant == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")
    svg = asyncio.run(_screenshot(home, (80, 24), ("2",), light=variant == "light"))
    _compare(svg, f"alerts-80x24-{variant}", tmp_path)
    if variant == "no-color":  # monochrome: no hue anywhere, every state still in words
        colours = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in re.findall(r"fill: (#[0-9a-f]{6})", svg)}
        assert colours and all(max(c) - min(c) <= 8 for c in colours), colours  # greys only


def _compare(actual: str, name: str, tmp_path: Path) -> None:
    screen, size = name, ""
    expected_path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("VIGIL_UPDATE_SNAPSHOTS") == "1" or not expected_path.exists():
        if os.environ.get("CI") and not expected_path.exists():
            pytest.fail(f"{expected_path.name} is missing; create it with VIGIL_UPDATE_SNAPSHOTS=1 and commit it")
        expected_path.write_text(actual, encoding="utf-8")
    expected = expected_path.read_text(encoding="utf-8")
    if actual != expected:
        failed = tmp_path / expected_path.name
        failed.write_text(actual, encoding="utf-8")
        pytest.fail(f"{screen}{size} differs from {expected_path}; this run's is {failed}")
    assert "oncall (admin)" in _text(actual)
    if name == "model-200x50":
        assert "fairness: origin demographic parity difference" in _text(actual)


def _text(svg: str) -> str:
    import html
    import re

    return html.unescape(" ".join(re.findall(r">([^<>]+)</text>", svg))).replace("\xa0", " ")
