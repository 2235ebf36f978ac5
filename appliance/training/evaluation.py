"""Holdout metrics, overall and per segment.

Binary: roc_auc, log_loss, brier, accuracy, precision and recall at the version's threshold,
ece (expected calibration error over equal-width bins), positive_rate and predicted_positive_rate.
Regression: mae, rmse, r2.
Multiclass (scores: one probability column per class, labels: class positions): log_loss (the
primary metric), accuracy (of the most probable class), roc_auc_ovr_macro and roc_auc_ovr_weighted
(one-vs-rest AUC of each class present with both outcomes, averaged plainly or by class share),
classwise_ece (each class's expected calibration error of its own probability, averaged), and per
class `precision:<class>`, `recall:<class>` and the confusion matrix as counts `confusion:<true>:<predicted>`.
A metric that is undefined on a slice (AUC of one class) is None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from appliance.core.records import PRIMARY, MetricRow


def metrics(task: str, y_true: np.ndarray, scores: np.ndarray, threshold: float = 0.5,
            bins: int = 10, classes: list[str] | None = None) -> dict[str, float | None]:
    if task == "binary":
        return _binary(y_true, scores, threshold, bins)
    if task == "multiclass":
        from appliance.training.multiclass_metrics import multiclass_metrics

        return multiclass_metrics(y_true, scores, classes, bins)
    return _regression(y_true, scores)


def primary_metric(task: str, y_true: np.ndarray, scores: np.ndarray) -> float | None:
    name, _ = PRIMARY[task]
    if name == "roc_auc":
        return roc_auc(y_true, scores)
    if not len(y_true):
        return None
    if task == "multiclass":
        from appliance.training.multiclass_metrics import log_loss

        return log_loss(y_true, scores)
    return float(np.mean(np.abs(y_true - scores)))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC by the rank-sum formula (ties averaged); None unless both classes are present."""
    from scipy.stats import rankdata

    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[y_true == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def expected_calibration_error(y_true: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Sum over equal-width probability bins of |observed rate - mean score| weighted by bin share."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(y_true[mask].mean() - scores[mask].mean())
    return float(total)


def _binary(y: np.ndarray, p: np.ndarray, threshold: float, bins: int) -> dict[str, float | None]:
    from sklearn.metrics import log_loss, precision_score, recall_score

    predicted = (p >= threshold).astype(int)
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    return {
        "roc_auc": roc_auc(y, p),
        "log_loss": float(log_loss(y, clipped, labels=[0, 1])),
        "brier": float(np.mean((p - y) ** 2)),
        "accuracy": float(np.mean(predicted == y)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "ece": expected_calibration_error(y, p, bins),
        "positive_rate": float(np.mean(y)),
        "predicted_positive_rate": float(np.mean(predicted)),
    }


def _regression(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    error = predicted - y
    variance = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": 1.0 - float(np.sum(error**2)) / variance if variance > 0 else None,
    }


def evaluate(task: str, y: np.ndarray, scores: np.ndarray, segments: pl.DataFrame, *,
             threshold: float = 0.5, bins: int = 10, min_segment_rows: int = 30,
             classes: list[str] | None = None) -> list[MetricRow]:
    """Metrics on the whole holdout, then per value of each segment column."""
    rows = [MetricRow(None, None, m, v, len(y))
            for m, v in metrics(task, y, scores, threshold, bins, classes).items()]
    for column in segments.columns:
        values = segments[column].cast(pl.String).fill_null("(missing)").to_numpy()
        for value in sorted(set(values.tolist())):
            mask = values == value
            count = int(mask.sum())
            if count < min_segment_rows:
                rows.append(MetricRow(column, value, "row_count", float(count), count))
                continue
            for name, metric_value in metrics(task, y[mask], scores[mask], threshold, bins, classes).items():
                rows.append(MetricRow(column, value, name, metric_value, count))
    return rows


def scores_of(model: Any, task: str, inputs: pl.DataFrame) -> np.ndarray:
    """Positive-class probability for binary models, the prediction for regression, and for multiclass
    models every class's probability (one column per class, in the model's class order)."""
    if task == "binary":
        return np.asarray(model.predict_proba(inputs))[:, 1].astype(float)
    if task == "multiclass":
        return np.asarray(model.predict_proba(inputs), dtype=float)
    return np.asarray(model.predict(inputs)).astype(float)
