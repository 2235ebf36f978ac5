"""A multiclass model (a flight's arrival band) monitored through a real daemon: prediction drift on the
class distribution and each class's probability, with alerts and an incident when the class mix shifts;
a canary analysed on classes and probabilities whose pass asks for promotion through the release door;
its report and the console's model screen show per-class metrics and the confusion matrix."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl
import pytest

from daemon_support import (BAND_CLASSES, BAND_LENIENT, FEATURES, Daemon, admin, op, start_daemon, token_of,
                            wait_until)

CANARY_ENV = {**BAND_LENIENT, "VIGIL_CANARY_MIN_SECONDS": "1", "VIGIL_CANARY_MIN_REQUESTS": "10",
              "VIGIL_CANARY_MAX_SCORE_PSI": "0.5", "VIGIL_CANARY_MAX_LATENCY_P95_RATIO": "100",
              "VIGIL_JOBS_DRIFT_RETRAIN_WINDOWS": "0"}


@pytest.fixture
def band(band_home_copy: Path, tmp_path: Path) -> Iterator[Daemon]:
    started = start_daemon(band_home_copy, tmp_path / "daemon.log", env=CANARY_ENV)
    yield started
    if started.process.poll() is None:
        started.stop()


@pytest.fixture
def band_people(band_home_copy: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    tokens = {"ada": token_of(vigil("users", "add", "ada", "--role", "admin", "--home", band_home_copy).out)}
    for name, role in (("otto", "operator"), ("alice", "approver"), ("bob", "approver")):
        added = vigil("users", "add", name, "--role", role, "--home", band_home_copy,
                      env={"VIGIL_TOKEN": tokens["ada"]})
        tokens[name] = token_of(added.out)
    return tokens


@pytest.fixture(scope="module")
def band_records(flights_small: Path) -> list[dict[str, Any]]:
    return pl.read_parquet(flights_small).drop_nulls(FEATURES).tail(300).select(FEATURES).to_dicts()


def _score(daemon: Daemon, records: list[dict[str, Any]]) -> list[str]:
    status, answer = daemon.post("/v1/models/band/predict", {"records": records})
    assert status == 200, answer
    return list(answer["predictions"])


def _sql(daemon: Daemon, text: str) -> list[list[Any]]:
    return admin(daemon, "sql", {"query": text})["rows"]


def test_a_shift_in_the_class_mix_is_drift_and_opens_an_alert_and_incident(
        band: Daemon, band_records: list[dict[str, Any]]) -> None:
    predicted = [c for start in range(0, 300, 50) for c in _score(band, band_records[start:start + 50])]
    mixed = admin(band, "drift", {"name": "band", "window": "1h"})
    assert mixed["classes"] == BAND_CLASSES and mixed["features"]["(prediction)"]["kind"] == "categorical"
    counts = Counter(predicted)
    shifted = min((c for c in BAND_CLASSES if counts[c] >= 3), key=counts.__getitem__)
    chosen = [r for r, c in zip(band_records, predicted) if c == shifted]
    for _ in range(max(1, 1500 // len(chosen))):  # the window is now mostly one predicted class
        assert set(_score(band, chosen)) == {shifted}

    report = admin(band, "drift", {"name": "band", "window": "1h"})
    outputs = report["features"]["(prediction)"]
    assert outputs["kind"] == "categorical" and outputs["verdict"] == "critical"
    assert outputs["psi"] > 0.25 and outputs["psi"] > mixed["features"]["(prediction)"]["psi"]
    assert outputs["top_bins"][0]["bin"] == shifted and outputs["top_bins"][0]["current_share"] > 0.8
    assert outputs["chi2_pvalue"] < 1e-6
    probability = report["features"][f"(probability:{shifted})"]
    assert probability["kind"] == "numeric" and probability["mean_shift"] > 0.1
    assert probability["mean_current"] > probability["mean_reference"]
    stored = _sql(band, f"SELECT value FROM drift_results WHERE run_id = {report['run_id']} "
                        f"AND feature = '(probability:{shifted})' AND metric = 'mean_shift'")
    assert stored[0][0] == pytest.approx(probability["mean_shift"])

    for _ in range(2):  # the built-in drift rules need two breaching windows in a row
        assert admin(band, "monitor_run", {"names": ["band"], "window": "1h"}) is not None
    alerts = _sql(band, "SELECT rule, severity, status FROM alerts WHERE model_name = 'band' "
                        "AND subject = '(prediction)'")
    assert ["drift-critical", "critical", "open"] in alerts
    incidents = _sql(band, "SELECT count(*) FROM incidents WHERE model_name = 'band'")
    assert incidents[0][0] >= 1
    observed = _sql(band, f"SELECT count(*) FROM monitor_observations WHERE model_name = 'band' "
                          f"AND metric = 'mean_shift' AND subject = '(probability:{shifted})'")
    assert observed[0][0] >= 2


def _canary_runs(daemon: Daemon, token: str) -> list[dict[str, Any]]:
    status, found = op(daemon, token, "jobs", {"job": "canary"})
    assert status == 200
    assert not [r for r in found["runs"] if r["status"] == "failed"], found["runs"]
    return [r for r in found["runs"] if r["status"] == "ok"]


def _replayed(daemon: Daemon, token: str, request_id: int) -> dict[str, Any] | None:
    status, shown = op(daemon, token, "request_show", {"id": request_id})
    assert status == 200 and shown["replay"]["status"] in ("computing", "replayed"), shown["replay"]
    return shown["replay"] if shown["replay"]["status"] == "replayed" else None


def test_a_multiclass_canary_is_analysed_on_classes_and_passes_through_the_release_door(
        band: Daemon, band_people: dict[str, str], band_records: list[dict[str, Any]]) -> None:
    """v2 was trained from the same spec on the same data: its class mix and probabilities match v1's."""
    status, request = op(band, band_people["alice"], "promote",
                         {"name": "band", "version": 2, "alias": "canary", "percent": 25, "reason": "try v2"})
    assert status == 200 and request["status"] == "applied", request
    routes = set()
    for record in band_records * 2:  # about 150 canary rows: the largest of five probability PSIs on fewer is noise
        status, body = band.post("/v1/models/band/predict", {"records": [record]},
                                 headers={"X-Request-Id": uuid.uuid4().hex})
        assert status == 200, body
        routes.add((body["route"], body["version"]))
    assert routes == {("champion", 1), ("canary", 2)}
    time.sleep(1.1)  # the canary's minimum run (VIGIL_CANARY_MIN_SECONDS)
    assert op(band, band_people["otto"], "monitor_run", {})[0] == 200
    run = wait_until(lambda: _canary_runs(band, band_people["otto"]), 60)[0]
    detail = json.loads(run["detail"])
    checks = {c["check"]: c for c in detail["checks"]}
    assert {"latency_p95_ratio", "class_psi", "probability_psi"} <= set(checks) and "score_psi" not in checks
    assert checks["class_psi"]["ok"] is True and checks["class_psi"]["value"] < 0.5
    assert checks["probability_psi"]["ok"] is True and set(checks["probability_psi"]["per_class"]) == set(BAND_CLASSES)
    assert detail["status"] == "passed" and detail["action"] == "promotion requested", detail

    status, listed = op(band, band_people["otto"], "requests", {})
    pending = [r for r in listed["requests"] if r["alias"] == "champion" and r["status"] == "pending"]
    assert len(pending) == 1 and pending[0]["requested_by"] == "alice" and pending[0]["version"] == 2
    status, shown = op(band, band_people["otto"], "request_show", {"id": pending[0]["request_id"]})
    assert {"canary_class_psi", "canary_probability_psi"} <= {g["gate"] for g in shown["gates"]}
    # the approver's replay evidence: the champion's logged traffic re-scored by v2, class by class
    replay = wait_until(lambda: _replayed(band, band_people["otto"], pending[0]["request_id"]), 60)
    champion_rows = _sql(band, "SELECT count(*) FROM prediction_log WHERE model_name = 'band' AND version = 1 "
                               "AND route = 'champion'")[0][0]
    assert replay["detail"]["task"] == "multiclass" and replay["rows_replayed"] == champion_rows > 300
    assert replay["agreement"] == 1.0 and replay["score_psi"] == 0.0  # v2 answers as v1 does, class for class
    assert set(replay["detail"]["shift"]["per_class_psi"]) == set(BAND_CLASSES)
    status, refused = op(band, band_people["alice"], "approve", {"id": pending[0]["request_id"]})
    assert status == 403 and "cannot approve it" in refused["message"]
    status, approved = op(band, band_people["bob"], "approve", {"id": pending[0]["request_id"]})
    assert status == 200 and approved["status"] == "approved", approved
    assert dict(_sql(band, "SELECT alias, version FROM aliases WHERE model_name = 'band'")) == {"champion": 2}


def test_the_report_shows_classes_per_class_metrics_and_the_confusion_matrix(
        band: Daemon, band_records: list[dict[str, Any]]) -> None:
    for start in range(0, 300, 50):
        _score(band, band_records[start:start + 50])
    out = band.home / "exports" / "band.html"  # where the daemon writes outputs
    admin(band, "report", {"name": "band", "window": "24h", "out": str(out)})
    html = out.read_text()
    assert 'data-chart="classes"' in html and "Predicted classes: training vs window" in html
    assert 'data-chart="scores"' not in html and "Score distribution" not in html
    assert "Champion&#x27;s holdout metrics" in html or "Champion's holdout metrics" in html
    for name in ("log_loss", "roc_auc_ovr_macro", "accuracy", "classwise_ece"):
        assert f"<th>{name}</th>" in html
    assert "<th>precision</th><th>recall</th>" in html and "confusion:" not in html
    assert "<th>true class ↓ predicted →</th>" + "".join(f"<th>{c}</th>" for c in BAND_CLASSES) in html
    holdout = _sql(band, "SELECT holdout_rows FROM model_versions WHERE model_name = 'band' AND version = 1")[0][0]
    confusion = _sql(band, "SELECT sum(value) FROM version_metrics WHERE model_name = 'band' AND version = 1 "
                           "AND segment_column IS NULL AND metric LIKE 'confusion:%'")[0][0]
    assert confusion == holdout and f"on its {holdout:,} holdout rows" in html
    for name in BAND_CLASSES:
        assert f"<td>{name}</td>" in html  # a row per class: mean probabilities, precision/recall, confusion


def test_the_console_model_screen_groups_metrics_per_class(band: Daemon, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    from textual.widgets import Static

    from appliance.home import Home
    from tui.app import VigilApp

    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    async def scenario() -> str:
        app = VigilApp(Home(band.home), refresh_s=0.5)
        async with app.run_test(size=(160, 60)) as pilot:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _model_rows(app):
                await pilot.pause(0.1)
            await pilot.press("enter")
            text = ""
            while time.monotonic() < deadline and "confusion" not in text:
                await pilot.pause(0.1)
                if type(app.screen).__name__ == "ModelScreen":
                    text = str(app.screen.query_one("#lineage", Static).render())
            return text

    text = asyncio.run(scenario())
    lines = text.splitlines()
    metrics = next(line for line in lines if line.startswith("metrics: "))
    assert "log_loss" in metrics and "roc_auc_ovr_macro" in metrics and "confusion" not in metrics
    assert any(line.split() == ["class", "precision", "recall"] for line in lines)
    at = lines.index(next(line for line in lines if line.strip().startswith("confusion (rows: true class")))
    assert lines[at + 1].split() == BAND_CLASSES
    for offset, name in enumerate(BAND_CLASSES, start=2):
        row = lines[at + offset].split()
        assert row[0] == name and len(row) == 4 and all(cell.isdigit() for cell in row[1:])


def _model_rows(app: Any) -> int:
    from textual.widgets import DataTable

    try:
        return int(app.screen.query_one("#models", DataTable).row_count)
    except Exception:  # noqa: BLE001 - the overview is not mounted yet
        return 0
