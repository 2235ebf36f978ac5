"""Array versions of the fitted preprocessing steps Vigil's pipelines use.

Median/mean/constant imputation, standard scaling and ordinal encoding are a few array operations
once fitted; scikit-learn's `transform` adds input validation and bookkeeping that dominate on small
frames. A step this module does not know keeps its own `transform`. Exactness is checked by the
caller (the fast path compares with the pipeline on probe rows at load).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Step = Callable[[np.ndarray], np.ndarray]


def compile_steps(transformer: Any) -> Step:
    """One function for a fitted transformer or Pipeline of transformers."""
    steps = [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]
    compiled = [_compile(step) for step in steps]

    def run(X: np.ndarray) -> np.ndarray:
        for step in compiled:
            X = step(X)
        return X

    return run


def _compile(step: Any) -> Step:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OrdinalEncoder, StandardScaler

    if isinstance(step, SimpleImputer) and not step.add_indicator:
        return _imputer(step) or step.transform
    if isinstance(step, StandardScaler):
        mean = step.mean_ if step.with_mean else None
        scale = step.scale_ if step.with_std else None
        return lambda X: _scale(np.asarray(X, dtype=np.float64), mean, scale)
    if isinstance(step, OrdinalEncoder) and not any(getattr(step, "infrequent_categories_", None) or []):
        return _ordinal(step) or step.transform
    return step.transform


def _imputer(step: Any) -> Step | None:
    statistics = step.statistics_
    if step.missing_values is None:
        fill = np.asarray(statistics, dtype=object)

        def fill_none(X: np.ndarray) -> np.ndarray:
            out = np.array(X, dtype=object, copy=True)
            missing = np.frompyfunc(lambda value: value is None, 1, 1)(out).astype(bool)
            if missing.any():
                out[missing] = np.broadcast_to(fill, out.shape)[missing]
            return out

        return fill_none
    if isinstance(step.missing_values, float) and np.isnan(step.missing_values) and statistics.dtype.kind == "O":
        fill = np.asarray(statistics, dtype=object)

        def fill_nan_objects(X: np.ndarray) -> np.ndarray:  # scikit-learn: missing means X != X here
            out = np.array(X, dtype=object, copy=True)
            missing = out != out
            if missing.any():
                out[missing] = np.broadcast_to(fill, out.shape)[missing]
            return out

        return fill_nan_objects
    if isinstance(step.missing_values, float) and np.isnan(step.missing_values) and statistics.dtype.kind == "f":
        if np.isnan(statistics).any():
            return None  # columns all-missing at fit are dropped by scikit-learn: keep its transform

        def fill_nan(X: np.ndarray) -> np.ndarray:
            data = np.asarray(X, dtype=np.float64)
            return np.where(np.isnan(data), statistics, data)

        return fill_nan
    return None


def _scale(X: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None) -> np.ndarray:
    if mean is not None:
        X = X - mean
    if scale is not None:
        X = X / scale
    return X


def _ordinal(step: Any) -> Step | None:
    if step.handle_unknown != "use_encoded_value" or any(c.dtype.kind != "O" for c in step.categories_):
        return None
    lookups = [{value: float(i) for i, value in enumerate(categories)} for categories in step.categories_]
    unknown = float(step.unknown_value)

    def encode(X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape, dtype=np.float64)
        for j, lookup in enumerate(lookups):
            out[:, j] = [lookup.get(value, unknown) for value in X[:, j]]
        return out

    return encode
