"""A version's answers from its model's output: what `vigil score` writes and the portable plan returns.

Binary: prediction 1/0 at the version's threshold, score the positive class's probability. Regression:
the prediction, no score. Multiclass: the position of the most probable class as prediction, its
probability as score, and every class's probability, in the version's class order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Answers:
    predictions: np.ndarray  # float64: 1/0, the regression value, or the class's position
    scores: np.ndarray | None  # float64, or None for regression
    probabilities: np.ndarray | None  # multiclass: (rows, classes)


def answers(task: str, output: np.ndarray, threshold: float | None) -> Answers:
    """`output`: the positive class's probability (binary), every class's (multiclass) or the value.

    >>> answers("binary", np.array([0.2, 0.7]), 0.5).predictions.tolist()
    [0.0, 1.0]
    """
    if task == "multiclass":
        chosen = np.argmax(output, axis=1)
        return Answers(chosen.astype(np.float64), output[np.arange(len(chosen)), chosen], output)
    if task == "binary":
        return Answers((output >= threshold).astype(np.float64), output, None)
    return Answers(output, None, None)
