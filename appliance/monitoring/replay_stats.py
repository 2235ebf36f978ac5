"""What a replay compares: how often a candidate and the champion agree on the same logged rows, how
far the candidate's scores move from the champion's logged scores, and each one's metric on the rows
that have labels.

Every function takes `Answers`, one version's answers on the replayed rows in the same order:
- binary: `decisions` "1"/"0" (the class at the version's threshold), `scores` the positive class's
  probability;
- multiclass: `decisions` the chosen class's name (names, so two versions may order their classes
  differently), `scores` that class's probability, `probabilities` every class's by name;
- regression: `scores` the predicted value, no decisions.

Agreement is the share of rows with the same decision; for regression, the share whose answers lie
within `tolerance` of each other (by default a tenth of the standard deviation of the champion's
answers on these rows, so the rule does not depend on the target's unit), with the mean absolute
difference beside it.

>>> import numpy as np
>>> champion = Answers(["1", "0", "1", "0"], np.array([0.9, 0.2, 0.6, 0.4]))
>>> candidate = Answers(["1", "0", "0", "0"], np.array([0.8, 0.1, 0.4, 0.3]))
>>> agreement("binary", champion, candidate)["agreement"]
0.75
>>> labelled_metrics("binary", [1, 0, 1, 0], [], champion, candidate)["roc_auc"]
{'candidate': 1.0, 'champion': 1.0}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from appliance.training.evaluation import roc_auc

TOLERANCE_SHARE = 0.1  # regression: agree within this share of the champion answers' standard deviation
EXACT = 1e-9  # regression: the tolerance when the champion answered one value throughout
LOG_EPSILON = 1e-15
# The metric a replay reports first for each task, and whether a larger value is better.
PRIMARY = {"binary": ("roc_auc", True), "multiclass": ("accuracy", True), "regression": ("mae", False)}


@dataclass(frozen=True, slots=True)
class Answers:
    """One version's answers on the replayed rows (see the module's docstring for each task)."""

    decisions: Sequence[str] | None
    scores: np.ndarray
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)


def agreement(task: str, champion: Answers, candidate: Answers, tolerance: float | None = None) -> dict[str, Any]:
    """The share of rows where both answer alike (regression: within `tolerance`), and how it was judged."""
    rows = len(champion.scores)
    if not rows:
        return {"agreement": None, "rows": 0}
    if task != "regression":
        assert champion.decisions is not None and candidate.decisions is not None
        same = sum(a == b for a, b in zip(champion.decisions, candidate.decisions))
        return {"agreement": same / rows, "rows": rows}
    difference = np.abs(candidate.scores - champion.scores)
    if tolerance is None:
        spread = float(np.std(champion.scores))
        tolerance = TOLERANCE_SHARE * spread if spread > 0 else EXACT
    return {"agreement": float(np.mean(difference <= tolerance)), "rows": rows, "tolerance": tolerance,
            "mean_abs_difference": float(np.mean(difference))}


def shift(task: str, champion: Answers, candidate: Answers) -> dict[str, Any]:
    """PSI and the Kolmogorov–Smirnov statistic of the candidate's scores against the champion's (the
    drift check's binning: ten quantile bins of the champion's). Multiclass: the largest PSI of one
    class's probability (naming the class, with its KS), and the PSI of the chosen classes."""
    from appliance.monitoring.drift import categorical_drift, numeric_drift

    if not len(champion.scores):
        return {"psi": None, "ks": None}
    if task != "multiclass":
        found = numeric_drift(champion.scores, candidate.scores)
        return {"psi": found.psi, "ks": found.ks_stat}
    per_class = {name: numeric_drift(values, candidate.probabilities[name])
                 for name, values in champion.probabilities.items() if name in candidate.probabilities}
    assert champion.decisions is not None and candidate.decisions is not None
    classes = categorical_drift(list(champion.decisions), list(candidate.decisions))
    if not per_class:
        return {"psi": None, "ks": None, "class_psi": classes.psi}
    worst = max(per_class, key=lambda name: per_class[name].psi)
    return {"psi": per_class[worst].psi, "ks": per_class[worst].ks_stat, "class": worst, "class_psi": classes.psi,
            "per_class_psi": {name: drift.psi for name, drift in per_class.items()}}


def labelled_metrics(task: str, label_values: Sequence[float], label_names: Sequence[str], champion: Answers,
                     candidate: Answers) -> dict[str, dict[str, float | None]]:
    """Each metric of both versions on the labelled rows (the answers given are of those rows only):
    binary ROC AUC and accuracy, regression MAE and RMSE, multiclass accuracy and log loss (by class name)."""
    if not len(label_values) and not len(label_names):
        return {}
    found: dict[str, dict[str, float | None]] = {}
    for who, answers in (("candidate", candidate), ("champion", champion)):
        for name, value in _metrics(task, label_values, label_names, answers).items():
            found.setdefault(name, {})[who] = value
    return found


def _metrics(task: str, label_values: Sequence[float], label_names: Sequence[str],
             answers: Answers) -> dict[str, float | None]:
    if task == "regression":
        error = answers.scores - np.asarray(label_values, dtype=np.float64)
        return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2)))}
    assert answers.decisions is not None
    if task == "binary":
        y = np.asarray(label_values, dtype=np.float64)
        decided = np.asarray([float(d) for d in answers.decisions])
        return {"roc_auc": roc_auc(y.astype(int), answers.scores), "accuracy": float(np.mean(decided == y))}
    hit = np.asarray([a == b for a, b in zip(answers.decisions, label_names)])
    given = [answers.probabilities[name][i] if name in answers.probabilities else 0.0
             for i, name in enumerate(label_names)]
    return {"accuracy": float(np.mean(hit)),
            "log_loss": float(-np.mean(np.log(np.clip(np.asarray(given, dtype=np.float64), LOG_EPSILON, 1.0))))}


def primary(task: str, metrics: dict[str, dict[str, float | None]]) -> tuple[str | None, float | None, float | None]:
    """(metric, candidate's value, champion's value) of the task's first metric; Nones without labels."""
    name, _ = PRIMARY[task]
    found = metrics.get(name)
    if not found:
        return None, None, None
    return name, found.get("candidate"), found.get("champion")
