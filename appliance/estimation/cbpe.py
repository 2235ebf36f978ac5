"""Confidence-based performance estimation (CBPE) of a binary or multiclass version, as NannyML does it.

Fitted on the version's reference (its holdout: labels and the version's own scores): a calibrator
per class where the scores need one (calibration.py), and the reference's sampling-error components.
On a chunk without labels it calibrates the scores, takes the expected confusion matrix and the
expected ROC curve (expected.py), and gives each metric with its sampling error. It assumes what
NannyML assumes: the relation between scores and outcomes is the reference's (no concept drift), and
calibrated scores are true probabilities; a shift in the inputs alone is what it sees.

Example (seeded):
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000); s = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)
    >>> cbpe = CBPE.fit(ClassifierReference(y, s, (s >= 0.5).astype(int)))
    >>> round(cbpe.estimate(s, (s >= 0.5).astype(int))["roc_auc"][0], 3)
    0.845
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from appliance.estimation import sampling_error as se
from appliance.estimation.bands import alert_band
from appliance.estimation.calibration import Calibrator, calibrator_for
from appliance.estimation.expected import binary_estimates, estimated_roc_auc, multiclass_estimates
from appliance.estimation.realized import binary_realized, multiclass_realized

METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")
RANGE = (0.0, 1.0)


@dataclass(frozen=True, slots=True)
class ClassifierReference:
    """A version's reference: labels (0/1, or class positions), its scores (the positive class's
    probability, or one column per class) and its predicted labels (0/1 at its threshold, or the most
    probable class's position)."""

    y_true: np.ndarray
    scores: np.ndarray
    predicted: np.ndarray

    @property
    def multiclass(self) -> bool:
        return self.scores.ndim == 2

    @property
    def rows(self) -> int:
        return len(self.y_true)


@dataclass(frozen=True, slots=True)
class CBPE:
    calibrators: tuple[Calibrator, ...]
    components: dict[str, object] = field(default_factory=dict)

    @classmethod
    def fit(cls, reference: ClassifierReference, calibrators: tuple[Calibrator, ...] | None = None) -> CBPE:
        """Fit the calibrators (unless given, as stored) and the reference's sampling-error components."""
        if calibrators is None:
            calibrators = _fit_calibrators(reference)
        return cls(calibrators, _components(reference))

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            return self.calibrators[0].calibrate(scores)
        columns = np.column_stack([c.calibrate(scores[:, i]) for i, c in enumerate(self.calibrators)])
        total = columns.sum(axis=1, keepdims=True)
        uniform = np.full_like(columns, 1 / columns.shape[1])
        return np.divide(columns, total, out=uniform, where=total != 0)

    def estimate(self, scores: np.ndarray, predicted: np.ndarray) -> dict[str, tuple[float, float]]:
        """Each metric's (estimate, sampling error) on a chunk's scores and predicted labels."""
        calibrated = self.calibrated(scores)
        if scores.ndim == 1:
            values = {"roc_auc": estimated_roc_auc(calibrated, scores), **binary_estimates(calibrated, predicted)}
        else:
            values = multiclass_estimates(calibrated, scores, predicted)
        return {metric: (values[metric], self.sampling_error(metric, len(predicted))) for metric in METRICS}

    def sampling_error(self, metric: str, rows: int) -> float:
        found = self.components[metric]
        if isinstance(found, list):
            return se.multiclass_error(found, rows, 1.2 if metric == "roc_auc" else 1.0)
        assert isinstance(found, tuple)
        return se.error(found, rows)

    def alert_bands(self, reference: ClassifierReference,
                    slices: list[tuple[int, int]]) -> dict[str, tuple[float | None, float | None]]:
        """Each metric's alert band from its realized values on the reference's chunks."""
        per_chunk = [realized(reference, start, end) for start, end in slices]
        return {m: alert_band(np.array([chunk[m] for chunk in per_chunk]), *RANGE) for m in METRICS}


def realized(reference: ClassifierReference, start: int = 0, end: int | None = None) -> dict[str, float]:
    """The metrics realized on rows [start, end) of labelled data."""
    part = slice(start, end)
    if reference.multiclass:
        return multiclass_realized(reference.y_true[part], reference.scores[part], reference.predicted[part])
    return binary_realized(reference.y_true[part], reference.scores[part], reference.predicted[part])


def _fit_calibrators(reference: ClassifierReference) -> tuple[Calibrator, ...]:
    if not reference.multiclass:
        return (calibrator_for(reference.scores, reference.y_true.astype(np.int64)),)
    return tuple(calibrator_for(reference.scores[:, c], (reference.y_true == c).astype(np.int64))
                 for c in range(reference.scores.shape[1]))


def _components(reference: ClassifierReference) -> dict[str, object]:
    y, scores, predicted = reference.y_true.astype(np.int64), reference.scores, reference.predicted.astype(np.int64)
    if not reference.multiclass:
        return {"roc_auc": se.roc_auc_components(y, scores), "accuracy": se.accuracy_components(y, predicted),
                "f1": se.f1_components(y, predicted), "precision": se.precision_components(y, predicted),
                "recall": se.recall_components(y, predicted)}
    classes = scores.shape[1]
    truth = np.eye(classes, dtype=np.int64)[y]
    chosen = np.eye(classes, dtype=np.int64)[predicted]
    return {"roc_auc": se.multiclass_auc_components(truth, scores),
            "accuracy": se.accuracy_components(y, predicted),
            **{name: [function(truth[:, c], chosen[:, c], squared=True) for c in range(classes)]
               for name, function in (("f1", se.f1_components), ("precision", se.precision_components),
                                      ("recall", se.recall_components))}}
