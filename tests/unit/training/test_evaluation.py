"""appliance/training/evaluation.py: metrics against scikit-learn and hand computations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from appliance.core.records import MetricRow
from appliance.training.evaluation import (
    evaluate,
    expected_calibration_error,
    metrics,
    primary_metric,
    roc_auc,
)


def binary_data(seed: int = 7, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 1)  # rounded: many ties
    return y, scores


def test_roc_auc_matches_sklearn_with_ties() -> None:
    for seed in range(5):
        y, scores = binary_data(seed)
        assert len(np.unique(scores)) < 12
        assert roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)


def test_roc_auc_is_none_for_one_class() -> None:
    scores = np.array([0.1, 0.4, 0.9])
    assert roc_auc(np.ones(3, dtype=int), scores) is None
    assert roc_auc(np.zeros(3, dtype=int), scores) is None
    assert primary_metric("binary", np.zeros(3, dtype=int), scores) is None


def test_expected_calibration_error_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 0])
    scores = np.array([0.05, 0.15, 0.15, 0.95, 1.0])
    # bins [0, .1): 1 row, |0 - .05|; [.1, .2): 2 rows, |.5 - .15|; [.9, 1]: 2 rows, |.5 - .975|
    by_hand = 0.2 * 0.05 + 0.4 * 0.35 + 0.4 * 0.475
    assert expected_calibration_error(y, scores, bins=10) == pytest.approx(by_hand, abs=1e-12)
    assert expected_calibration_error(y, scores, bins=2) == pytest.approx(0.6 * abs(1 / 3 - 0.35 / 3)
                                                                          + 0.4 * abs(0.5 - 0.975), abs=1e-12)


def test_binary_metrics_match_sklearn() -> None:
    y, scores = binary_data(3)
    found = metrics("binary", y, scores, threshold=0.6, bins=10)
    predicted = (scores >= 0.6).astype(int)
    assert set(found) == {"roc_auc", "log_loss", "brier", "accuracy", "precision", "recall", "ece",
                          "positive_rate", "predicted_positive_rate"}
    assert found["log_loss"] == pytest.approx(skm.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15)), abs=1e-12)
    assert found["brier"] == pytest.approx(skm.brier_score_loss(y, scores), abs=1e-12)
    assert found["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted), abs=1e-12)
    assert found["precision"] == pytest.approx(skm.precision_score(y, predicted), abs=1e-12)
    assert found["recall"] == pytest.approx(skm.recall_score(y, predicted), abs=1e-12)
    assert found["positive_rate"] == pytest.approx(y.mean(), abs=1e-12)
    assert found["predicted_positive_rate"] == pytest.approx(predicted.mean(), abs=1e-12)


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(11)
    y = rng.normal(10, 3, 200)
    predicted = y + rng.normal(0, 1, 200)
    found = metrics("regression", y, predicted)
    assert found["mae"] == pytest.approx(skm.mean_absolute_error(y, predicted), abs=1e-12)
    assert found["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, predicted)), abs=1e-12)
    assert found["r2"] == pytest.approx(skm.r2_score(y, predicted), abs=1e-12)
    assert primary_metric("regression", y, predicted) == pytest.approx(found["mae"], abs=1e-12)
    assert metrics("regression", np.full(3, 2.0), np.array([1.0, 2.0, 3.0]))["r2"] is None


def test_evaluate_overall_then_segments_small_ones_as_row_count() -> None:
    y = np.array([0, 1] * 5)
    scores = np.array([0.2, 0.8] * 5)
    segments = pl.DataFrame({"origin": ["JFK"] * 6 + ["LGA"] * 3 + [None]})
    rows = evaluate("binary", y, scores, segments, min_segment_rows=4)
    overall = [r for r in rows if r.segment_column is None]
    assert [r.metric for r in overall][:3] == ["roc_auc", "log_loss", "brier"]
    assert all(r.row_count == 10 for r in overall)
    jfk = {r.metric: r for r in rows if r.segment_value == "JFK"}
    assert jfk["roc_auc"] == MetricRow("origin", "JFK", "roc_auc", 1.0, 6)
    assert jfk["accuracy"].value == 1.0 and len(jfk) == len(overall)
    small = [r for r in rows if r.segment_value in ("LGA", "(missing)")]
    assert small == [MetricRow("origin", "(missing)", "row_count", 1.0, 1),
                     MetricRow("origin", "LGA", "row_count", 3.0, 3)]


def test_evaluate_one_class_segment_has_undefined_auc() -> None:
    y = np.array([0, 0, 0, 1, 1, 0])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.4])
    rows = evaluate("binary", y, scores, pl.DataFrame({"g": ["a", "a", "a", "b", "b", "b"]}), min_segment_rows=1)
    auc = {r.segment_value: r.value for r in rows if r.metric == "roc_auc"}
    assert auc == {None: 1.0, "a": None, "b": 1.0}
