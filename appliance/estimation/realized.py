"""Metrics realized on labels, computed the way the estimates are defined, so an estimate and its
realized value compare like for like: binary ROC AUC on the version's own scores and F1, precision,
recall and accuracy at its predicted labels; multiclass the macro one-vs-rest averages; regression MAE
and RMSE. A metric a chunk cannot define (one class only) is NaN, as in NannyML.

Example:
    >>> binary_realized(np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.3, 0.1]), np.array([1, 1, 0, 0]))["roc_auc"]
    0.75
"""

from __future__ import annotations

import numpy as np

NAN = float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _counts(y_true: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.sum((y_true == 1) & (predicted == 1)))
    fp = int(np.sum((y_true != 1) & (predicted == 1)))
    fn = int(np.sum((y_true == 1) & (predicted != 1)))
    return tp, fp, fn, len(y_true) - tp - fp - fn


def _auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    from appliance.training.evaluation import roc_auc

    found = roc_auc(np.asarray(y_true).astype(np.int64), np.asarray(scores, dtype=np.float64))
    return NAN if found is None else found


def binary_realized(y_true: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if not len(y_true):
        return {m: NAN for m in ("roc_auc", "accuracy", "f1", "precision", "recall")}
    tp, fp, fn, tn = _counts(y_true, predicted)
    defined = len(np.unique(y_true)) > 1 and len(np.unique(predicted)) > 1
    return {"roc_auc": _auc(y_true, scores), "accuracy": (tp + tn) / len(y_true),
            "f1": _ratio(tp, tp + 0.5 * (fp + fn)) if defined else NAN,
            "precision": _ratio(tp, tp + fp) if defined else NAN,
            "recall": _ratio(tp, tp + fn) if defined else NAN}


def multiclass_realized(y_true: np.ndarray, scores: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Macro averages over every class of the version (a class absent from the labels makes ROC AUC NaN)."""
    classes = scores.shape[1]
    if not len(y_true):
        return {m: NAN for m in ("roc_auc", "accuracy", "f1", "precision", "recall")}
    per_class = [_counts((y_true == c).astype(np.int64), (predicted == c).astype(np.int64)) for c in range(classes)]
    defined = len(np.unique(y_true)) > 1 and len(np.unique(predicted)) > 1
    every_class = len(np.unique(y_true)) == classes
    return {
        "roc_auc": float(np.mean([_auc((y_true == c).astype(np.int64), scores[:, c]) for c in range(classes)]))
        if every_class else NAN,
        "accuracy": float(np.mean(y_true == predicted)),
        "f1": float(np.mean([_ratio(tp, tp + 0.5 * (fp + fn)) for tp, fp, fn, _ in per_class])) if defined else NAN,
        "precision": float(np.mean([_ratio(tp, tp + fp) for tp, fp, _, _ in per_class])) if defined else NAN,
        "recall": float(np.mean([_ratio(tp, tp + fn) for tp, _, fn, _ in per_class])) if defined else NAN,
    }


def regression_realized(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    if not len(y_true):
        return {"mae": NAN, "rmse": NAN}
    error = np.asarray(predicted, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2)))}
