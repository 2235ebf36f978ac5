"""Paired bootstrap of a metric difference between a new version and the champion on the same rows."""

from __future__ import annotations

import numpy as np

from appliance.core.records import PRIMARY, Comparison
from appliance.training.evaluation import primary_metric


def paired_bootstrap(task: str, y: np.ndarray, version_scores: np.ndarray, champion_scores: np.ndarray,
                     *, resamples: int = 500, confidence: float = 0.95, seed: int = 0) -> Comparison:
    """Resample holdout rows with replacement; each resample scores both models on the same rows.

    >>> y = np.array([0, 1, 0, 1, 1, 0, 1, 0] * 10)
    >>> good, weak = y * 0.8 + 0.1, np.full(80, 0.5)
    >>> paired_bootstrap("binary", y, good, weak, resamples=100, seed=1).verdict
    'better'
    """
    metric, higher_is_better = PRIMARY[task]
    version_value = primary_metric(task, y, version_scores)
    champion_value = primary_metric(task, y, champion_scores)
    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        index = rng.integers(0, len(y), len(y))
        a = primary_metric(task, y[index], version_scores[index])
        b = primary_metric(task, y[index], champion_scores[index])
        if a is not None and b is not None:
            differences.append(a - b)
    tail = (1 - confidence) / 2 * 100
    low, high = (None, None)
    if differences:
        low, high = (float(x) for x in np.percentile(differences, [tail, 100 - tail]))
    difference = None
    if version_value is not None and champion_value is not None:
        difference = version_value - champion_value
    return Comparison(metric, higher_is_better, version_value, champion_value, difference, low, high,
                      confidence, resamples, len(y))
