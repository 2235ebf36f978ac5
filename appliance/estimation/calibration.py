"""Calibrating a version's scores into probabilities on its reference, as NannyML's CBPE does.

CBPE reads a calibrated probability as the chance that a row is positive, so scores that are not
calibrated would bias every estimate. `needs_calibration` asks whether isotonic regression lowers the
expected calibration error on held-out folds of the reference (ten stratified 90/10 splits, the ECE
over ten equal-count bins of the pooled test folds); only then is a calibrator fitted on the whole
reference. A fitted calibrator is its isotonic step function (the regression's thresholds), applied by
linear interpolation and clipped at both ends, which is what scikit-learn's `IsotonicRegression(
out_of_bounds="clip")` predicts; so it is stored as two arrays and read back without unpickling.

Example (seeded):
    >>> import numpy as np
    >>> calibrator = Calibrator.fit(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 1, 0, 1]))
    >>> calibrator.calibrate(np.array([0.1, 0.5, 0.9])).tolist()
    [0.0, 0.5, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10
SPLITS = 10


@dataclass(frozen=True, slots=True)
class Calibrator:
    """An isotonic step function: scores at `x` map to probabilities `y` (None: scores kept as they are)."""

    x: np.ndarray | None
    y: np.ndarray | None

    @classmethod
    def identity(cls) -> Calibrator:
        return cls(None, None)

    @classmethod
    def fit(cls, scores: np.ndarray, y_true: np.ndarray) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression

        regression = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(scores, y_true)
        return cls(np.asarray(regression.X_thresholds_, dtype=np.float64),
                   np.asarray(regression.y_thresholds_, dtype=np.float64))

    @property
    def active(self) -> bool:
        return self.x is not None

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        if self.x is None or self.y is None:
            return np.asarray(scores, dtype=np.float64)
        return np.interp(scores, self.x, self.y)


def calibrator_for(scores: np.ndarray, y_true: np.ndarray) -> Calibrator:
    """An isotonic calibrator when the reference says the scores need one, else the identity."""
    if needs_calibration(scores, y_true):
        return Calibrator.fit(scores, y_true)
    return Calibrator.identity()


def needs_calibration(scores: np.ndarray, y_true: np.ndarray) -> bool:
    """Whether isotonic calibration lowers the ECE on held-out folds of the reference (NannyML's test:
    one class only, or an AUC above 0.999, needs none)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedShuffleSplit

    if len(np.unique(y_true)) == 1 or roc_auc_score(y_true, scores) > 0.999:
        return False
    splits = StratifiedShuffleSplit(n_splits=SPLITS, test_size=0.1, random_state=42)
    truth, raw, calibrated = [], [], []
    for train, test in splits.split(scores, y_true):
        truth.append(y_true[test])
        raw.append(scores[test])
        calibrated.append(Calibrator.fit(scores[train], y_true[train]).calibrate(scores[test]))
    y, before, after = np.concatenate(truth), np.concatenate(raw), np.concatenate(calibrated)
    edges = bin_edges(len(y), BINS)
    return bool(calibration_error(y, before, edges) > calibration_error(y, after, edges))


def bin_edges(length: int, bins: int) -> list[tuple[int, int]]:
    """Equal-count bins of a sorted vector of `length`, the last taking the remainder."""
    if length <= 2 * bins:
        bins = length // 2
    width = length // bins
    edges = list(range(0, length + 1, width))
    edges[-1] = length
    return list(zip(edges[:-1], edges[1:]))


def calibration_error(y_true: np.ndarray, scores: np.ndarray, edges: list[tuple[int, int]]) -> float:
    """Expected calibration error over equal-count bins of the sorted scores."""
    order = np.argsort(scores)
    sorted_scores, sorted_truth = scores[order], y_true[order]
    return float(sum((right - left) / len(scores) * abs(sorted_scores[left:right].mean() - sorted_truth[left:right].mean())
                     for left, right in edges))
