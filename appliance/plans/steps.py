"""Fitted preprocessing steps as data, and the array functions that run them.

A step is `(spec, arrays)`: `spec` a JSON-able dict naming its kind, `arrays` its fitted NumPy arrays.
Kinds: `impute_float` (fill NaN with per-column statistics), `impute_none` and `impute_nan_object`
(fill None, or NaN, in object columns), `scale` (subtract mean, divide by scale), `ordinal` (category
→ its position, unknown → a fixed code, missing → its own code if it was seen in fitting),
`passthrough` (numbers as they are), `onehot` (each category → a 1 in its output column, as the
fitted OneHotEncoder lays them out: infrequent categories share a column, a dropped one has none, an
unseen or missing value goes where the encoder sends it).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Step = Callable[[np.ndarray], np.ndarray]
StepData = tuple[dict[str, Any], dict[str, np.ndarray]]


def step_runner(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Step:
    kind = spec["kind"]
    if kind == "impute_float":
        return _fill_nan(arrays["statistics"])
    if kind == "impute_none":
        return _fill_objects(np.asarray(spec["fill"], dtype=object), lambda out: _is_none(out))
    if kind == "impute_nan_object":
        return _fill_objects(np.asarray(spec["fill"], dtype=object), lambda out: out != out)
    if kind == "scale":
        mean, scale = arrays.get("mean"), arrays.get("scale")
        return lambda X: _scale(np.asarray(X, dtype=np.float64), mean, scale)
    if kind == "ordinal":
        return _ordinal(spec["categories"], float(spec["unknown"]), spec.get("missing"))
    if kind == "passthrough":
        return lambda X: np.asarray(X, dtype=np.float64)
    if kind == "onehot":
        return _onehot(spec)
    raise ValueError(f"unknown step kind {kind!r}")


def chain(steps: list[Step]) -> Step:
    def run(X: np.ndarray) -> np.ndarray:
        for step in steps:
            X = step(X)
        return X

    return run


_is_none = np.frompyfunc(lambda value: value is None, 1, 1)


def _fill_nan(statistics: np.ndarray) -> Step:
    def fill_nan(X: np.ndarray) -> np.ndarray:
        data = np.asarray(X, dtype=np.float64)
        return np.where(np.isnan(data), statistics, data)

    return fill_nan


def _fill_objects(fill: np.ndarray, missing_of: Callable[[np.ndarray], Any]) -> Step:
    def fill_objects(X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=object, copy=True)
        missing = np.asarray(missing_of(out)).astype(bool)
        if missing.any():
            out[missing] = np.broadcast_to(fill, out.shape)[missing]
        return out

    return fill_objects


def _scale(X: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None) -> np.ndarray:
    if mean is not None:
        X = X - mean
    if scale is not None:
        X = X / scale
    return X


def _ordinal(categories: list[list[Any]], unknown: float, missing: list[float] | None = None) -> Step:
    """`missing`: each column's code for a missing value, when it was seen in fitting (else unknown)."""
    lookups = [{value: float(i) for i, value in enumerate(column)} for column in categories]
    for lookup, code in zip(lookups, missing or []):
        lookup[None] = code

    def encode(X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape, dtype=np.float64)
        for j, lookup in enumerate(lookups):
            out[:, j] = [lookup.get(value, unknown) for value in X[:, j]]
        return out

    return encode


def _onehot(spec: dict[str, Any]) -> Step:
    """Object columns → the encoder's 0/1 float64 matrix (`spec` from `appliance.plans.compile._onehot`)."""
    lookups = []
    for categories, columns, missing in zip(spec["categories"], spec["columns"], spec["missing"]):
        lookup = dict(zip(categories, columns))
        lookup[None] = missing
        lookups.append(lookup)
    unknowns, width = spec["unknown"], int(spec["width"])

    def encode(X: np.ndarray) -> np.ndarray:
        out = np.zeros((X.shape[0], width), dtype=np.float64)
        rows = np.arange(X.shape[0])
        for j, (lookup, unknown) in enumerate(zip(lookups, unknowns)):
            where = np.array([lookup.get(value, unknown) for value in X[:, j]], dtype=np.intp)
            hit = where >= 0
            out[rows[hit], where[hit]] = 1.0
        return out

    return encode
