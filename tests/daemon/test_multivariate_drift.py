"""Multivariate drift through a running daemon: measured in every drift check, stored, alerted on by
the monitor, printed by `vigil drift`, drawn in the report and shown on the console's drift screen."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, admin, start_daemon


def _rows(daemon: Daemon, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in admin(daemon, "sql", {"query": sql})["rows"]]


@pytest.fixture(scope="module")
def drifted(served_home: Path, tmp_path_factory: pytest.TempPathFactory,
            sample_records: list[dict[str, Any]]) -> Iterator[Daemon]:
    """One daemon for the module, after traffic whose temperatures run 45 degrees hot."""
    root = tmp_path_factory.mktemp("multivariate")
    shutil.copytree(served_home, root / "home")
    daemon = start_daemon(root / "home", root / "daemon.log")
    hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
    for start in range(0, len(hot), 50):
        assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 50]})[0] == 200
    yield daemon
    daemon.stop()


def test_drift_measures_and_stores_the_reconstruction_error(drifted: Daemon, cli: Callable[..., Any]) -> None:
    report = json.loads(cli("drift", "delay", "--window", "1h", "--json", "--home", drifted.home).out)
    m = report["multivariate"]
    assert m["verdict"] == "warning" and m["rows"] == 200 and m["reference_rows"] > 1000
    assert m["reconstruction_error"] > m["upper_threshold"] > m["reference_mean"] and m["reconstruction_sigmas"] > 3
    assert m["chunk_rows"] == 200 and m["reference_chunks"] == m["reference_rows"] // 200
    assert m["columns"] == 7 and 1 <= m["components"] < 7 and m["explained_variance"] > 0.65
    stored = dict(_rows(drifted, f"SELECT metric, value FROM drift_results WHERE run_id = {report['run_id']} "
                                 "AND feature = '(multivariate)'"))
    assert stored == {k: m[k] for k in ("reconstruction_error", "sampling_error", "upper_threshold",
                                        "reconstruction_sigmas", "lower_threshold") if m[k] is not None}
    fitted = _rows(drifted, "SELECT version, reference_rows, components, fit_path FROM reconstruction_references")
    assert fitted == [(1, m["reference_rows"], m["components"], fitted[0][3])]
    assert (drifted.home / fitted[0][3]).exists()
    again = cli("drift", "delay", "--window", "1h", "--home", drifted.home)
    assert "multivariate (PCA reconstruction error" in again.out and "OUTSIDE the training band" in again.out
    assert len(_rows(drifted, "SELECT * FROM reconstruction_references")) == 1  # fitted once, then reused
    explained = _rows(drifted, f"SELECT explanation FROM drift_explanations WHERE run_id = {report['run_id']} "
                               "AND feature = '(multivariate)'")
    assert json.loads(explained[0][0])["upper_threshold"] == m["upper_threshold"]
    (drifted.home / fitted[0][3]).write_bytes(b"not a fit")  # a damaged file is refitted and replaced
    repaired = json.loads(cli("drift", "delay", "--window", "1h", "--json", "--home", drifted.home).out)
    assert repaired["multivariate"]["upper_threshold"] == m["upper_threshold"]
    path, sha = _rows(drifted, "SELECT fit_path, fit_sha256 FROM reconstruction_references")[0]
    assert hashlib.sha256((drifted.home / path).read_bytes()).hexdigest() == sha  # the record names a sound file
    assert not (drifted.home / fitted[0][3]).exists() or path == fitted[0][3]  # the damaged one is gone
    features = admin(drifted, "drift_view", {"name": "delay"})["features"]
    assert "(multivariate)" not in [f["feature"] for f in features]  # the per-feature table stays per feature


def test_the_monitor_observes_it_and_opens_the_multivariate_alert(drifted: Daemon) -> None:
    first = admin(drifted, "monitor_run", {"names": ["delay"], "window": "1h"})
    assert "multivariate-drift" not in {a["rule"] for a in first["checks"][0]["alerts"]}  # two windows needed
    second = admin(drifted, "monitor_run", {"names": ["delay"], "window": "1h"})
    opened = {(a["rule"], a["subject"]): a for a in second["checks"][0]["alerts"] if a["change"] == "opened"}
    alert = opened[("multivariate-drift", "(multivariate)")]
    assert alert["severity"] == "warning" and "reconstruction_sigmas of (multivariate)" in alert["message"]
    observed = _rows(drifted, "SELECT metric, count(*) FROM monitor_observations WHERE subject = '(multivariate)' "
                              "GROUP BY metric ORDER BY metric")
    assert observed == [("reconstruction_error", 2), ("reconstruction_sigmas", 2)]


def test_the_report_shows_the_window_and_the_checks(drifted: Daemon) -> None:
    for _ in range(3):  # enough monitor checks in the window for a chart
        admin(drifted, "monitor_run", {"names": ["delay"], "window": "1h"})
    out = drifted.home / "exports" / "multivariate.html"
    admin(drifted, "report", {"name": "delay", "window": "24h", "out": str(out)})
    html = out.read_text()
    section = html[html.index("<h2>Multivariate drift</h2>"):]
    section = section[:section.index("<h2>", 10)]
    assert 'data-chart="multivariate"' in section and "outside their band" in section
    assert '<span class="warning">warning</span>' in section and "training band" in section


def test_the_console_drift_screen_shows_it(drifted: Daemon, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from appliance.home import Home
    from tui.app import VigilApp

    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    admin(drifted, "drift", {"name": "delay", "window": "1h"})

    async def scenario() -> None:
        app = VigilApp(Home(drifted.home), refresh_s=0.5)
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + 20
            while not app.model_names and time.monotonic() < deadline:
                await pilot.pause(0.1)
            await pilot.press("colon", *"drift delay", "enter")
            text = ""
            while "band" not in text and time.monotonic() < deadline:
                await pilot.pause(0.1)
                if type(app.screen).__name__ == "DriftScreen":
                    text = str(app.screen.query_one("#multivariate").render())
            assert "Multivariate (PCA reconstruction error)" in text and "outside the band: warning" in text
            assert "recent runs" in text

    asyncio.run(scenario())
