"""Direct loss estimation (DLE) of a regression version, as NannyML does it: a second model, trained on
the version's reference (its holdout's inputs and predictions), predicts each row's absolute error
(for MAE) and squared error (for RMSE); a chunk's estimate is the mean predicted loss (its root for
RMSE), each row's prediction floored at 0.

NannyML trains LightGBM with its defaults; here scikit-learn's HistGradientBoostingRegressor with the
same shape (up to 100 rounds, 31 leaves, learning rate 0.1) and a fixed seed, so the same reference
always gives the same loss model. Differences, for speed: every path down a tree reads at most two
inputs (`interaction_cst="pairwise"`), so each loss model is exactly a sum of two-input tables
(appliance/estimation/loss_tables.py) and a row's losses are a few look-ups, whatever the number of
trees; and above 10,000 rows scikit-learn's early stopping holds out 10% and stops after 10 rounds that
do not lower its loss, which lets the larger fits take bigger steps on smaller trees (learning rate
0.3, 15 leaves: about 20 rounds) without overfitting. The models see the whole reference up to SAMPLE_ROWS rows (a larger one is
sampled uniformly, seeded), and fit on one thread. It assumes the reference's relation between inputs
and errors holds (no concept drift); it sees shifts into regions where the version was less accurate,
not a world that changed.

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
from appliance.estimation.loss_tables import LossTables, tables_of
from appliance.estimation.realized import regression_realized

METRICS = ("mae", "rmse")
RANGE: tuple[float | None, float | None] = (0.0, None)
SEED = 0
EARLY_STOPPING_ROWS = 10_000  # scikit-learn's early_stopping="auto" holds out 10% above this many rows
SAMPLE_ROWS = 100_000  # loss models fit on at most this many reference rows (fewer moved the estimates)
CHECK_ROWS = 2_000  # reference rows on which the tables are checked against the trees
TABLE_PREFIX = "dle_"  # the loss tables' arrays in the stored reference


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
    """Fitted DLE: the loss models (absolute, squared error) as tables, and the sampling-error components."""

    tables: LossTables
    components: dict[str, tuple[float, float]]

    @classmethod
    def fit(cls, reference: RegressionReference) -> DLE:
        return cls(loss_tables(reference), components(reference))

    @classmethod
    def from_arrays(cls, reference: RegressionReference, arrays: dict[str, np.ndarray]) -> DLE:
        """A DLE from stored loss tables (`to_arrays`); KeyError or ValueError if they are not usable."""
        tables = LossTables.from_arrays(arrays, TABLE_PREFIX)
        if len(tables.constant) != 2 or tables.categorical != (*reference.categorical, False):
            raise ValueError("the stored loss tables do not fit this reference")
        return cls(tables, components(reference))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return self.tables.to_arrays(TABLE_PREFIX)

    def estimate(self, features: np.ndarray, predicted: np.ndarray) -> dict[str, tuple[float, float]]:
        """Each metric's (estimate, sampling error) on a chunk's inputs and predictions."""
        return self.from_losses(*self.losses(features, predicted))

    def losses(self, features: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's predicted absolute and squared error, floored at 0 (predicted once for a whole period,
        then averaged per chunk)."""
        losses = np.maximum(0, self.tables.predict(_inputs(features, predicted)))
        return losses[:, 0], losses[:, 1]

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


def components(reference: RegressionReference) -> dict[str, tuple[float, float]]:
    """The sampling-error components of MAE and RMSE on the reference."""
    squared = (reference.y_true - reference.predicted) ** 2
    return {"mae": se.mae_components(reference.y_true, reference.predicted),
            "rmse": (float(np.std(squared)), float(np.mean(squared)))}


def loss_tables(reference: RegressionReference) -> LossTables:
    """Fit the absolute- and squared-error models on the reference (a seeded uniform sample of SAMPLE_ROWS
    if larger) and turn them into tables."""
    rows = np.arange(reference.rows)
    if reference.rows > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(SEED).choice(reference.rows, SAMPLE_ROWS, replace=False))
    error = reference.y_true[rows] - reference.predicted[rows]
    inputs = _inputs(reference.features[rows], reference.predicted[rows])
    mask = [*reference.categorical, False]
    with _one_thread():
        models = [_loss_model(inputs, np.abs(error), mask), _loss_model(inputs, error ** 2, mask)]
        return tables_of(models, mask, inputs[:CHECK_ROWS])


def _one_thread() -> Any:
    """Fit and check on one thread: on a shared machine OpenMP's waiting threads made fits many times slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _inputs(features: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.column_stack([features, predicted]).astype(np.float64, copy=False)


def _loss_model(inputs: np.ndarray, loss: np.ndarray, categorical: list[bool]) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    large = len(loss) > EARLY_STOPPING_ROWS  # scikit-learn's early stopping ("auto") is on above this
    model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.3 if large else 0.1,
                                          max_leaf_nodes=15 if large else 31, early_stopping="auto",
                                          categorical_features=np.asarray(categorical) if any(categorical) else None,
                                          interaction_cst="pairwise" if inputs.shape[1] > 2 else None,
                                          random_state=SEED)
    return model.fit(inputs, loss)
