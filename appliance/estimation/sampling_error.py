"""Sampling errors of the estimated metrics, as NannyML computes them: the spread of each metric's
per-row contributions on the reference, scaled by the square root of the rows that carry it in a chunk.

Each `*_components` function reads the reference once (labels, scores, predicted labels); the matching
error is then `std / sqrt(rows * fraction)`. For multiclass metrics each class's (variance, fraction)
is kept and the error is `sqrt(sum(variance / (rows * fraction))) / classes` (ROC AUC: times 1.2).

Example:
    >>> accuracy_components(np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1]))
    (0.4330127018922193, 1.0)
"""

from __future__ import annotations

import numpy as np

Components = tuple[float, float]


def error(components: Components, rows: int) -> float:
    """std / sqrt(rows x fraction of rows that carry the metric)."""
    std, fraction = components
    return float(std / np.sqrt(rows * fraction)) if rows and fraction else float("nan")


def multiclass_error(per_class: list[Components], rows: int, factor: float = 1.0) -> float:
    """sqrt(sum of each class's variance / (rows x fraction)) / classes."""
    if not rows or not per_class:
        return float("nan")
    variances = [var / (rows * fraction) if fraction else float("nan") for var, fraction in per_class]
    return float(np.sqrt(np.sum(variances)) / len(variances) * factor)


def _auc_ranks(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, float]:
    """Each positive's count of negatives ranked below it, over all negatives; the positives' share."""
    y, s = np.asarray(y_true).astype(np.int64), np.asarray(scores, dtype=np.float64)
    if np.mean(y) > 0.5:
        y, s = 1 - y, 1 - s
    order = np.argsort(s)
    y = y[order]
    positive_ranks = y * np.arange(len(y))
    indexes = np.unique(positive_ranks)[1:]
    below = indexes - np.arange(len(indexes))
    positives = int(y.sum())
    return below / (len(y) - positives), positives / len(y)


def roc_auc_components(y_true: np.ndarray, scores: np.ndarray) -> Components:
    ranks, fraction = _auc_ranks(y_true, scores)
    return float(np.std(ranks)), fraction


def _outcomes(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, true negatives) of 0/1 vectors."""
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    fp = int(np.sum((y_true != 1) & (y_pred == 1)))
    fn = int(np.sum((y_true == 1) & (y_pred != 1)))
    return tp, fp, fn, len(y_true) - tp - fp - fn


def _bernoulli(ones: int, zeros: int) -> np.ndarray:
    return np.concatenate([np.ones(ones), np.zeros(zeros)])


def f1_components(y_true: np.ndarray, y_pred: np.ndarray, squared: bool = False) -> Components:
    tp, fp, fn, _ = _outcomes(y_true, y_pred)
    relevant = tp + fp + fn
    if not relevant:
        return float("nan"), 0.0
    values = _bernoulli(tp, fn + fp)
    if not squared:  # the binary form rescales each row's contribution to the F1 itself
        values = values * relevant / ((fn + fp) * 0.5 + tp)
    spread = float(np.var(values)) if squared else float(np.std(values))
    return spread, relevant / len(y_pred)


def precision_components(y_true: np.ndarray, y_pred: np.ndarray, squared: bool = False) -> Components:
    tp, fp, _, _ = _outcomes(y_true, y_pred)
    values = _bernoulli(tp, fp)
    spread = float(np.var(values)) if squared else float(np.std(values))
    return spread, float(np.sum(y_pred)) / len(y_pred)


def recall_components(y_true: np.ndarray, y_pred: np.ndarray, squared: bool = False) -> Components:
    tp, _, fn, _ = _outcomes(y_true, y_pred)
    values = _bernoulli(tp, fn)
    spread = float(np.var(values)) if squared else float(np.std(values))
    return spread, float(np.sum(y_true)) / len(y_pred)


def accuracy_components(y_true: np.ndarray, y_pred: np.ndarray) -> Components:
    return float(np.std((np.asarray(y_true) == np.asarray(y_pred)).astype(np.int64))), 1.0


def multiclass_auc_components(one_hot: np.ndarray, scores: np.ndarray) -> list[Components]:
    """Each class's (variance of its rank contributions, positive share), one-vs-rest."""
    found = []
    for c in range(one_hot.shape[1]):
        ranks, fraction = _auc_ranks(one_hot[:, c], scores[:, c])
        found.append((float(np.var(ranks)), fraction))
    return found


def mae_components(y_true: np.ndarray, y_pred: np.ndarray) -> Components:
    return float(np.std(np.abs(y_true - y_pred))), 1.0


def rmse_error(y_true: np.ndarray, y_pred: np.ndarray, rows: int) -> float:
    """sqrt(std(squared error)^2 / (4 x rows x mean(squared error))), the delta method's error of a root."""
    squared = (y_true - y_pred) ** 2
    mean = float(np.mean(squared))
    return float(np.sqrt(np.std(squared) ** 2 / (4 * rows * mean))) if rows and mean else float("nan")
