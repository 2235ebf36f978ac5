"""CBPE's estimates from calibrated probabilities: the expected confusion matrix and the metrics built
from it, and the expected ROC curve.

A row predicted positive with calibrated probability p is a true positive with chance p and a false
positive with chance 1 - p; a row predicted negative is a false negative with chance p and a true
negative with chance 1 - p. Summing over a chunk gives the expected counts. The expected ROC curve
walks the rows from the highest score down, adding p to the true positives and 1 - p to the false
positives; its area is the estimated ROC AUC (counts rounded to 5 decimals, as NannyML does, so that
float noise does not move the curve).

Example (hand-computable):
    >>> p = np.array([0.9, 0.6, 0.3, 0.1]); predicted = np.array([1, 1, 0, 0])
    >>> expected_confusion(p, predicted)
    (1.5, 0.5, 0.4, 1.6)
    >>> round(estimated_roc_auc(p, p), 6)
    0.838346
"""

from __future__ import annotations

import numpy as np


def expected_confusion(p: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float, float]:
    """(TP, FP, FN, TN) expected from calibrated positive probabilities and predicted 0/1 labels."""
    positive = predicted == 1
    tp = float(np.sum(p[positive]))
    fp = float(np.sum(1 - p[positive]))
    fn = float(np.sum(p[~positive]))
    tn = float(np.sum(1 - p[~positive]))
    return tp, fp, fn, tn


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else 0.0


def binary_estimates(p: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, F1, precision and recall from the expected confusion matrix."""
    tp, fp, fn, tn = expected_confusion(p, predicted)
    return {"accuracy": _ratio(tp + tn, len(p)), "f1": _ratio(tp, tp + 0.5 * (fp + fn)),
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}


def estimated_roc_auc(calibrated: np.ndarray, scores: np.ndarray) -> float:
    """Area under the expected ROC curve, rows ordered by the version's own (uncalibrated) scores."""
    order = np.argsort(np.asarray(scores))[::-1]
    p = np.asarray(calibrated, dtype=np.float64)[order]
    tps: np.ndarray = np.asarray(np.round(np.r_[0.0, np.cumsum(p)], 5), dtype=np.float64)
    fps: np.ndarray = np.asarray(np.round(np.r_[0.0, 1 + np.arange(len(p)) - np.cumsum(p)], 5), dtype=np.float64)
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def multiclass_estimates(calibrated: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Macro one-vs-rest: each class's estimate from its own column, averaged; accuracy is the mean
    calibrated probability of the predicted class."""
    classes = calibrated.shape[1]
    per_class = [binary_estimates(calibrated[:, c], (predicted == c).astype(np.int64)) for c in range(classes)]
    found: dict[str, float] = {name: float(np.mean([m[name] for m in per_class])) for name in ("f1", "precision", "recall")}
    found["accuracy"] = float(np.mean(calibrated[np.arange(len(predicted)), predicted])) if len(predicted) else 0.0
    found["roc_auc"] = float(np.mean([estimated_roc_auc(calibrated[:, c], scores[:, c]) for c in range(classes)]))
    return found
