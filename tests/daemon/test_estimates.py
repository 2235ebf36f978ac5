"""Performance estimated without labels through the running daemon: a canary whose scores degrade is
stopped before any label arrives; estimates are stored, shown beside realized metrics, and alert."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from daemon_support import FEATURES, Daemon, admin, start_daemon, wait_until
from support import SPEC

NARROW = SPEC.replace('numeric = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]', 'numeric = ["distance"]') \
    .replace('categorical = ["carrier", "origin"]', 'categorical = ["origin"]')
CONFIG = """[canary]
min_seconds = 1
min_requests = 10
max_score_psi = 1000
max_latency_p95_ratio = 1000
[serving]
extra_columns = "ignore"
[jobs]
drift_retrain_windows = 0
"""
SENT: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []  # the first test's answers and rows, labelled later
LENIENT = {"VIGIL_PROMOTION_COMPARISON_TOLERANCE": "1", "VIGIL_PROMOTION_SEGMENT_REGRESSION_LIMIT": "1",
           "VIGIL_PROMOTION_MAX_COST_RATIO": "1000"}


@pytest.fixture(scope="module")
def estimating(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Iterator[Daemon]:
    """'delay' v1 (every feature) champion, v2 trained on distance and origin only; one daemon."""
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("estimates")
    home = root / "home"
    assert main(["init", "--home", str(home)]) == 0
    for seed, template in ((7, SPEC), (8, NARROW)):
        spec = root / f"spec{seed}.toml"
        spec.write_text(template.format(model="delay", seed=seed, source=f'path = "{flights_small.as_posix()}"',
                                        estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
        assert main(["train", "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    (home / "vigil.toml").write_text(CONFIG)
    running = start_daemon(home, root / "daemon.log", env=LENIENT)
    yield running
    if running.process.poll() is None:
        running.stop()


def _sql(daemon: Daemon, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in admin(daemon, "sql", {"query": sql})["rows"]]


def test_a_canary_whose_scores_degrade_is_stopped_before_any_label(estimating: Daemon, sample_records) -> None:
    daemon = estimating
    admin(daemon, "promote", {"name": "delay", "version": 2, "alias": "canary", "reason": "try v2", "percent": 50.0})
    # one route: v2 sees the same distance and origin on every row, so its scores carry no information here,
    # while the champion still ranks rows by departure time, weather and carrier
    same_route = [{**r, "distance": sample_records[0]["distance"], "origin": sample_records[0]["origin"]}
                  for r in sample_records]
    for i in range(400):
        start = (i * 5) % (len(same_route) - 5)
        status, answer = daemon.post("/v1/models/delay/predict", {"records": same_route[start:start + 5]},
                                     headers={"X-Routing-Key": f"client-{i}"})
        assert status == 200
        SENT.append((answer, [sample_records[start + k] for k in range(5)]))
    time.sleep(1.1)
    admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    run = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "canary"})["runs"] if r["status"] == "ok"], 60)
    detail = json.loads(run[0]["detail"])
    failed = [c for c in detail["checks"] if c["ok"] is False]
    assert detail["action"] == "rolled back" and [c["check"] for c in failed] == ["estimated_roc_auc_drop"], detail
    assert failed[0]["value"] > 0.03 and failed[0]["canary_estimate"] == pytest.approx(0.5, abs=1e-3)
    assert _sql(daemon, "SELECT count(*) FROM feedback") == [(0,)]  # stopped before any label arrived
    assert dict(_sql(daemon, "SELECT alias, version FROM aliases WHERE model_name = 'delay'")) == {"champion": 1}
    alert = next(a for a in admin(daemon, "alerts", {})["alerts"] if a["rule"] == "canary-rollback")
    assert "estimated_roc_auc_drop" in alert["message"]


def test_estimates_are_stored_shown_beside_realized_metrics_and_alert(estimating: Daemon, flights_small: Path) -> None:
    import polars as pl

    daemon = estimating
    truth = {tuple(r[f] for f in FEATURES): r["delayed"] for r in
             pl.read_parquet(flights_small).drop_nulls(FEATURES).to_dicts()}
    labels = [{"request_id": a["request_id"], "row_index": k, "label": truth[tuple(sent[k][f] for f in FEATURES)]}
              for a, sent in SENT if a["route"] == "champion" for k in range(5)
              if truth[tuple(sent[k][f] for f in FEATURES)] is not None][:300]
    assert len(labels) == 300
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[0] == 200
    result = admin(daemon, "estimate", {"name": "delay", "window": "1h", "axis": "arrival", "chunk": "chunks:2"})
    assert result["method"] == "cbpe" and len(result["chunks"]) == 2
    first = {e["metric"]: e for e in result["chunks"][0]["estimates"]}
    assert set(first) == {"roc_auc", "accuracy", "f1", "precision", "recall"}
    assert first["roc_auc"]["lower"] < first["roc_auc"]["estimate"] < first["roc_auc"]["upper"]
    assert sum(c["labelled_rows"] for c in result["chunks"]) == 300
    realized = [(c["labelled_rows"] >= 30, e["realized"] is not None) for c in result["chunks"] for e in c["estimates"]
                if e["metric"] == "accuracy"]
    assert all(enough == shown for enough, shown in realized) and (True, True) in realized
    stored = admin(daemon, "estimates", {"name": "delay", "limit": 1})["runs"][0]
    assert stored["run_id"] == result["run_id"] and stored["chunking"] == "chunks:2"
    assert [e["estimate"] for e in stored["chunks"][0]["estimates"] if e["metric"] == "roc_auc"] == [
        first["roc_auc"]["estimate"]]
    outcomes = admin(daemon, "outcomes", {"name": "delay", "window": "1h", "axis": "arrival"})
    beside = outcomes["estimated"]["1"]["metrics"]["roc_auc"]
    assert beside["estimate"] > 0.5 and outcomes["versions"]["1"]["metrics"]["roc_auc"] is not None
    (daemon.home / "alerts.toml").write_text(
        '[[rule]]\nname = "estimated-auc-low"\nmetric = "estimated_roc_auc"\nbelow = 0.99\nseverity = "warning"\n')
    admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    opened = [a for a in admin(daemon, "alerts", {})["alerts"] if a["rule"] == "estimated-auc-low"]
    assert [(a["metric"], a["subject"]) for a in opened] == [("estimated_roc_auc", "(model)")]
    observed = _sql(daemon, "SELECT source, value FROM monitor_observations WHERE metric = 'estimated_roc_auc' "
                            "ORDER BY run_id DESC LIMIT 1")
    assert observed[0][0] == "estimates" and observed[0][1] < 0.99
