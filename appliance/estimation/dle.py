"""Direct loss estimation (DLE) of a regression version, as NannyML does it: a second model, trained on
the version's reference (its holdout's inputs and predictions), predicts each row's absolute error
(for MAE) and squared error (for RMSE); a chunk's estimate is the mean predicted loss (its root for
RMSE), each row's prediction floored at 0.

NannyML trains LightGBM with its defaults; here scikit-learn's HistGradientBoostingRegressor with the
same shape (100 rounds, 31 leaves, learning rate 0.1), without early stopping and with a fixed seed,
so the same reference always gives the same loss model. It assumes the reference's relation between
inputs and errors holds (no concept drift); it sees shifts into regions where the version was less
accurate, not a world that changed.

Example (seeded):
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((3000, 1)); y = x[:, 0] + rng.normal(0, 0.05 + 0.3 * x[:, 0])
    >>> dle = DLE.fit(RegressionReference(y, x[:, 0], x, (False,)))
    >>> round(dle.estimate(x[x[:, 0] > 0.8], x[x[:, 0] > 0.8, 0])["mae"][0], 2)
    0.26
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from appliance.estimation import sampling_error as se
from appliance.estimation.bands import alert_band
from appliance.estimation.realized import regression_realized

METRICS = ("mae", "rmse")
RANGE: tuple[float | None, float | None] = (0.0, None)
SEED = 0


@dataclass(frozen=True, slots=True)
class RegressionReference:
    """A version's reference: labels, its predictions, and its inputs as numbers (categories as codes;
    `categorical` marks those columns)."""

    y_true: np.ndarray
    predicted: np.ndarray
    features: np.ndarray
    categorical: tuple[bool, ...]

    @property
    def rows(self) -> int:
        return len(self.y_true)


@dataclass(frozen=True, slots=True)
class DLE:
    models: dict[str, Any]
    components: dict[str, tuple[float, float]]

    @classmethod
    def fit(cls, reference: RegressionReference) -> DLE:
        error = reference.y_true - reference.predicted
        inputs = _inputs(reference.features, reference.predicted)
        mask = [*reference.categorical, False]
        models = {"mae": _loss_model(inputs, np.abs(error), mask), "rmse": _loss_model(inputs, error ** 2, mask)}
        squared = error ** 2
        return cls(models, {"mae": se.mae_components(reference.y_true, reference.predicted),
                            "rmse": (float(np.std(squared)), float(np.mean(squared)))})

    def estimate(self, features: np.ndarray, predicted: np.ndarray) -> dict[str, tuple[float, float]]:
        """Each metric's (estimate, sampling error) on a chunk's inputs and predictions."""
        return self.from_losses(*self.losses(features, predicted))

    def losses(self, features: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's predicted absolute and squared error, floored at 0 (predicted once for a whole period,
        then averaged per chunk)."""
        inputs = _inputs(features, predicted)
        return np.maximum(0, self.models["mae"].predict(inputs)), np.maximum(0, self.models["rmse"].predict(inputs))

    def from_losses(self, absolute: np.ndarray, squared: np.ndarray) -> dict[str, tuple[float, float]]:
        """A chunk's estimates from its rows' predicted losses."""
        rows = len(absolute)
        return {"mae": (float(np.mean(absolute)), self.sampling_error("mae", rows)),
                "rmse": (float(np.sqrt(np.mean(squared))), self.sampling_error("rmse", rows))}

    def sampling_error(self, metric: str, rows: int) -> float:
        if metric == "mae":
            return se.error(self.components["mae"], rows)
        std, mean = self.components["rmse"]
        return float(np.sqrt(std ** 2 / (4 * rows * mean))) if rows and mean else float("nan")

    def alert_bands(self, reference: RegressionReference,
                    slices: list[tuple[int, int]]) -> dict[str, tuple[float | None, float | None]]:
        per_chunk = [regression_realized(reference.y_true[a:b], reference.predicted[a:b]) for a, b in slices]
        return {m: alert_band(np.array([chunk[m] for chunk in per_chunk]), *RANGE) for m in METRICS}


def _inputs(features: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.column_stack([features, predicted]).astype(np.float64)


def _loss_model(inputs: np.ndarray, loss: np.ndarray, categorical: list[bool]) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, early_stopping=False,
                                          categorical_features=np.asarray(categorical) if any(categorical) else None,
                                          random_state=SEED)
    return model.fit(inputs, loss)
