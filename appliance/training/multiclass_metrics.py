"""Holdout metrics of a multiclass model: `y` holds class positions, `p` one probability column per class.

>>> y = np.array([0, 1, 2, 0, 1, 2])
>>> p = np.array([[.8, .1, .1], [.1, .8, .1], [.1, .1, .8], [.6, .3, .1], [.3, .6, .1], [.5, .1, .4]])
>>> found = multiclass_metrics(y, p, ["a", "b", "c"])
>>> found["accuracy"], found["recall:c"], found["confusion:c:a"], found["roc_auc_ovr_macro"]
(0.8333333333333334, 0.5, 1.0, 1.0)
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-15


def multiclass_metrics(y: np.ndarray, p: np.ndarray, classes: list[str] | None,
                       bins: int = 10) -> dict[str, float | None]:
    """Every multiclass metric by name (see appliance/training/evaluation.py for the list)."""
    names = classes if classes is not None else [str(i) for i in range(p.shape[1])]
    predicted = np.argmax(p, axis=1) if len(y) else np.empty(0, dtype=np.intp)
    found: dict[str, float | None] = {
        "log_loss": log_loss(y, p) if len(y) else None,
        "accuracy": float(np.mean(predicted == y)) if len(y) else None,
        "roc_auc_ovr_macro": ovr_auc(y, p, weighted=False),
        "roc_auc_ovr_weighted": ovr_auc(y, p, weighted=True),
        "classwise_ece": classwise_ece(y, p, bins) if len(y) else None,
    }
    for code, name in enumerate(names):
        chosen, actual = predicted == code, y == code
        hits = float(np.sum(chosen & actual))
        found[f"precision:{name}"] = hits / float(chosen.sum()) if chosen.any() else None
        found[f"recall:{name}"] = hits / float(actual.sum()) if actual.any() else None
    for true_code, true_name in enumerate(names):
        for predicted_code, predicted_name in enumerate(names):
            found[f"confusion:{true_name}:{predicted_name}"] = float(np.sum((y == true_code) & (predicted == predicted_code)))
    return found


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities clipped to [1e-15, 1])."""
    chosen = p[np.arange(len(y)), y.astype(np.intp)]
    return float(-np.mean(np.log(np.clip(chosen, EPSILON, 1.0))))


def ovr_auc(y: np.ndarray, p: np.ndarray, *, weighted: bool) -> float | None:
    """One-vs-rest ROC AUC over the classes that have rows of both outcomes; None when none has."""
    from appliance.training.evaluation import roc_auc

    values, weights = [], []
    for code in range(p.shape[1]):
        value = roc_auc((y == code).astype(int), p[:, code])
        if value is not None:
            values.append(value)
            weights.append(float(np.sum(y == code)))
    if not values:
        return None
    return float(np.average(values, weights=weights if weighted else None))


def classwise_ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """The mean over classes of each class's expected calibration error of its own probability."""
    from appliance.training.evaluation import expected_calibration_error

    return float(np.mean([expected_calibration_error((y == code).astype(float), p[:, code], bins)
                          for code in range(p.shape[1])]))
