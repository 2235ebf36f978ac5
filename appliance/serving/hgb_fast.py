"""Histogram gradient boosting's predict without its per-call overhead.

`predict_proba` on a small frame spends most of its time before the trees: validating the input,
running its internal ColumnTransformer to re-encode categorical codes, and rebuilding the known-
category bitsets. Here those are done once at load, the re-encoding is a `searchsorted` per
categorical column, and the fitted trees are called directly. The fast path using it is checked
against the estimator on probe rows before it is ever used.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def compile_hgb(estimator: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """X (float64) → what `predict_proba` (classifier) or `predict` (regressor) returns, or None."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if not isinstance(estimator, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return None
    if estimator.n_trees_per_iteration_ != 1:
        return None
    encode = _encoder(estimator)
    bitsets, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
    trees = [iteration[0] for iteration in estimator._predictors]
    baseline = estimator._baseline_prediction
    loss = estimator._loss
    classifier = isinstance(estimator, HistGradientBoostingClassifier)

    def predict(X: np.ndarray) -> np.ndarray:
        data = encode(X)
        raw = np.zeros((data.shape[0], 1), dtype=baseline.dtype, order="F")
        raw += baseline
        for tree in trees:
            raw[:, 0] += tree.predict(data, bitsets, feature_map, 1)
        return loss.predict_proba(raw) if classifier else loss.link.inverse(raw.ravel())

    return predict


def _encoder(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The estimator's own categorical re-encoding (categorical columns first), as array lookups."""
    preprocessor = getattr(estimator, "_preprocessor", None)
    if preprocessor is None:
        return lambda X: np.ascontiguousarray(X, dtype=np.float64)
    categorical = np.flatnonzero(estimator.is_categorical_)
    numerical = np.flatnonzero(~np.asarray(estimator.is_categorical_))
    encoder = preprocessor.named_transformers_["encoder"]
    known = [np.asarray(c, dtype=np.float64)[~np.isnan(np.asarray(c, dtype=np.float64))] for c in encoder.categories_]

    def encode(X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], X.shape[1]), dtype=np.float64)
        for j, (column, categories) in enumerate(zip(categorical, known)):
            values = X[:, column]
            position = np.minimum(np.searchsorted(categories, values), max(len(categories) - 1, 0))
            found = (categories[position] == values) if len(categories) else np.zeros(len(values), bool)
            out[:, j] = np.where(found, position, np.nan)  # unknown and missing: NaN, as the encoder does
        out[:, len(categorical):] = X[:, numerical]
        return out

    return encode
