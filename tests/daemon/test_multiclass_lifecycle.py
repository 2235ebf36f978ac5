"""A multiclass model (a flight's arrival band: early, on time or late) through a real daemon: trained with
scikit-learn's and XGBoost's boosting, evaluated and compared on log loss, promoted through the release door,
served on the native API with every class's probability, logged, and still there after a restart."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from daemon_support import BAND_CLASSES as CLASSES
from daemon_support import BAND_SPEC as SPEC
from daemon_support import FEATURES, Daemon, add_people, op, start_daemon
from support import query

LENIENT = {"VIGIL_PROMOTION_COMPARISON_TOLERANCE": "1", "VIGIL_PROMOTION_SEGMENT_REGRESSION_LIMIT": "1",
           "VIGIL_PROMOTION_MAX_COST_RATIO": "1000"}


@pytest.fixture
def band_home(tmp_path: Path, flights_small: Path, cli: Callable[..., Any]) -> Path:
    """v1 scikit-learn boosting (champion), v2 XGBoost, both trained on the same snapshot."""
    home = tmp_path / "home"
    assert cli("init", "--home", home).code == 0
    for name, estimator, params in (("hgb", "hist_gradient_boosting", "{ max_iter = 30 }"),
                                    ("xgb", "xgboost", "{ n_estimators = 30 }")):
        spec = tmp_path / f"{name}.toml"
        spec.write_text(SPEC.format(path=flights_small.as_posix(), estimator=estimator, params=params))
        trained = cli("train", "--spec", spec, "--home", home)
        assert trained.code == 0, trained.err
        if name == "hgb":  # v2 is trained against a champion, so it is compared with it
            assert cli("promote", "band", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    return home


@pytest.fixture
def people(band_home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    return add_people(band_home, vigil)


@pytest.fixture
def served(band_home: Path, people: dict[str, str], tmp_path: Path) -> Iterator[Daemon]:
    started = start_daemon(band_home, tmp_path / "daemon.log", env=LENIENT)
    yield started
    if started.process.poll() is None:
        started.stop()


def _records(flights_small: Path) -> list[dict[str, Any]]:
    import polars as pl

    return pl.read_parquet(flights_small).drop_nulls(FEATURES).tail(20).select(FEATURES).to_dicts()


def _predict(daemon: Daemon, records: list[dict[str, Any]]) -> dict[str, Any]:
    status, answer = daemon.post("/v1/models/band/predict", {"records": records})
    assert status == 200, answer
    assert answer["classes"] == CLASSES and len(answer["predictions"]) == len(records)
    probabilities = np.asarray(answer["probabilities"])
    assert probabilities.shape == (len(records), 3) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert answer["predictions"] == [CLASSES[i] for i in probabilities.argmax(axis=1)]
    return dict(answer)


def test_training_evaluates_and_compares_on_log_loss(band_home: Path) -> None:
    classes = query(band_home, "SELECT version, classes FROM model_versions ORDER BY version")
    assert classes == [(1, CLASSES), (2, CLASSES)]
    metrics = dict(query(band_home, "SELECT metric, value FROM version_metrics WHERE version = 1 "
                                    "AND segment_column IS NULL"))
    assert 0 < metrics["log_loss"] < np.log(3) and 0.34 < metrics["accuracy"] < 1
    assert 0.5 < metrics["roc_auc_ovr_macro"] <= 1 and 0.5 < metrics["roc_auc_ovr_weighted"] <= 1
    assert 0 <= metrics["classwise_ece"] < 0.2
    assert {f"precision:{c}" for c in CLASSES} | {f"recall:{c}" for c in CLASSES} <= set(metrics)
    confusion = sum(metrics[f"confusion:{t}:{p}"] for t in CLASSES for p in CLASSES)
    holdout = query(band_home, "SELECT holdout_rows FROM model_versions WHERE version = 1")[0][0]
    assert confusion == holdout
    compared = query(band_home, "SELECT metric, higher_is_better, status, champion_version, ci_low < ci_high "
                                "FROM version_comparisons WHERE version = 2")
    assert compared == [("log_loss", False, "compared", 1, True)]
    importance = query(band_home, "SELECT metric, count(importance) FROM feature_importance WHERE version = 2 "
                                  "GROUP BY metric")
    assert importance == [("log_loss", len(FEATURES))]
    fairness = dict(query(band_home, "SELECT metric, count(*) FROM fairness_metrics WHERE version = 1 GROUP BY 1"))
    assert fairness["accuracy"] >= 2 and fairness["accuracy_difference"] == 1


def test_promoted_served_logged_and_kept_across_a_restart(served: Daemon, people: dict[str, str],
                                                         flights_small: Path, tmp_path: Path) -> None:
    records = _records(flights_small)
    first = _predict(served, records)
    assert first["version"] == 1
    status, request = op(served, people["otto"], "promote", {"name": "band", "version": 2, "alias": "champion",
                                                            "reason": "XGBoost"})
    assert status == 200 and request["status"] in ("pending", "approved"), request
    gates = {g["gate"]: g for g in request["gates"]}
    assert gates["min_metric"]["detail"].startswith("holdout macro one-vs-rest ROC AUC")
    assert gates["calibration"]["detail"].startswith("classwise expected calibration error")
    assert gates["comparison"]["detail"].startswith("log_loss: v2 minus v1")
    if request["status"] == "pending":
        assert op(served, people["alice"], "approve", {"id": request["request_id"]})[0] == 200
    second = _predict(served, records)
    assert second["version"] == 2 and not np.allclose(first["probabilities"], second["probabilities"])

    # the XGBoost version answers on every protocol and takes labels by class name
    status, mlflow = served.post("/invocations", {"dataframe_records": records[:2]})
    assert status == 200 and mlflow == {"predictions": second["predictions"][:2]}
    tensors = [{"name": f, "shape": [1], "datatype": "BYTES" if f in ("carrier", "origin") else "FP64",
                "data": [records[0][f]]} for f in FEATURES]
    status, oip = served.post("/v2/models/band/infer", {"inputs": tensors})
    assert status == 200 and oip["outputs"][0]["data"] == second["predictions"][:1]
    status, labelled = served.post("/v1/models/band/feedback", {"request_id": second["request_id"], "label": "late"})
    assert status == 200 and labelled["results"][0]["status"] == "recorded"
    status, monitored = op(served, people["otto"], "monitor_run", {})
    assert status == 200, monitored
    status, rolled = op(served, people["otto"], "rollback", {"name": "band", "reason": "compare"})
    assert status == 200 and rolled["to_version"] == 1, rolled
    assert {c["check"]: c["ok"] for c in rolled["preflight"]}["golden_rows"] is True

    assert served.stop(signal.SIGTERM) == 0
    logged = query(served.home, "SELECT row_index, prediction, score, probabilities FROM prediction_log "
                                "WHERE request_id = ? ORDER BY row_index", [second["request_id"]])
    assert len(logged) == len(records)
    for (row, prediction, score, probabilities), answered in zip(logged, second["probabilities"]):
        assert probabilities == pytest.approx(answered, abs=1e-12)
        assert CLASSES[int(prediction)] == second["predictions"][row] and score == max(probabilities)
    again = start_daemon(served.home, tmp_path / "again.log", env=LENIENT)
    try:
        assert np.allclose(_predict(again, records)["probabilities"], first["probabilities"], rtol=0, atol=1e-12)
        status, explained = op(again, people["otto"], "explain_request", {"request_id": second["request_id"]})
        assert status == 200 and explained["rows"][0]["matches"] is True, explained
        assert set(explained["rows"][0]["explanation"]["classes"]) == set(CLASSES)
    finally:
        again.stop()
    kept = query(served.home, "SELECT count(*) FROM prediction_log WHERE request_id = ?", [second["request_id"]])
    assert kept == [(len(records),)]
