"""Histogram gradient boosting's trees as flat arrays, walked for all trees and rows at once.

scikit-learn walks one tree at a time (a Python call and an OpenMP region per tree). Here every
tree's nodes sit in one set of arrays and each step moves every (row, tree) cursor one level down,
so a forest of 200 trees costs about as many NumPy operations as its depth. The rules at each node
are scikit-learn's (`_predict_one_from_raw_data`): NaN follows `missing_go_to_left`; a categorical
value goes left if it is in the node's left-category bitset, right if it is a known category, and
is treated as missing otherwise; a number goes left if it is at most the threshold. Tree values are
added to the baseline one tree after another, in scikit-learn's order, so sums are bit-identical.
Each categorical node's rule is a 256-entry table built once, so a step is a lookup, not bit tests.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

NODE_ARRAYS = ("left", "right", "feature", "threshold", "missing_left", "is_leaf", "is_categorical",
               "bitset_index", "value")


def forest_runner(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """X (float64, the estimator's input columns) → predict_proba (binary) or predict (regression)."""
    encode = _encoder(arrays)
    leaf = arrays["is_leaf"]
    own = np.arange(len(leaf))
    left = np.where(leaf, own, arrays["left"])  # a leaf points at itself: cursors that arrive stay
    right = np.where(leaf, own, arrays["right"])
    feature, threshold, missing_left = arrays["feature"], arrays["threshold"], arrays["missing_left"]
    is_categorical, value = arrays["is_categorical"], arrays["value"]
    category_row, category_left = _category_table(arrays)
    roots, baseline = arrays["roots"], arrays["baseline"]
    depth, any_categorical = int(spec["depth"]), bool(is_categorical.any())
    inverse = _inverse_link(spec["link"])
    proba = spec["output"] == "proba"

    def predict(X: np.ndarray) -> np.ndarray:
        data = encode(X)
        n = data.shape[0]
        node = np.repeat(roots[None, :], n, axis=0)
        rows = np.arange(n)[:, None]
        for _ in range(depth):
            x = data[rows, feature[node]]
            nan = np.isnan(x)
            go_left = x <= threshold[node]
            if any_categorical:  # a categorical column holds NaN or a code 0..254 here (the encoder's output)
                categorical = is_categorical[node]
                code = np.where(categorical & ~nan, x, 0).astype(np.intp)
                go_left = np.where(categorical, category_left[category_row[node], code], go_left)
            go_left = np.where(nan, missing_left[node], go_left)
            node = np.where(go_left, left[node], right[node])
        terms = np.empty((n, node.shape[1] + 1), dtype=np.float64)
        terms[:, 0] = baseline
        terms[:, 1:] = value[node]
        raw = np.cumsum(terms, axis=1)[:, -1]  # sequential, as scikit-learn's `raw += tree.predict(X)`
        if not proba:
            return inverse(raw)
        out = np.empty((n, 2), dtype=np.float64)
        out[:, 1] = inverse(raw)
        out[:, 0] = 1 - out[:, 1]
        return out

    return predict


def _category_table(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(row of each node, table[row, code] = goes left) for categorical nodes: a code in the node's
    left bitset goes left, another known code goes right, an unknown one goes as a missing value."""
    categorical = np.flatnonzero(arrays["is_categorical"])
    rows = np.zeros(len(arrays["is_categorical"]), dtype=np.intp)
    rows[categorical] = np.arange(1, len(categorical) + 1)
    codes = np.arange(256)
    table = np.zeros((len(categorical) + 1, 256), dtype=bool)
    for r, node in enumerate(categorical, start=1):
        in_left = _bits(arrays["raw_bitsets"][arrays["bitset_index"][node]], codes)
        known = _bits(arrays["known_bitsets"][arrays["feature_map"][arrays["feature"][node]]], codes)
        table[r] = np.where(in_left, True, np.where(known, False, bool(arrays["missing_left"][node])))
    return rows, table


def _bits(bitset: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return ((bitset[codes >> 5] >> (codes & 31).astype(np.uint32)) & 1).astype(bool)


def _encoder(arrays: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The estimator's own categorical re-encoding (categorical columns first, then numeric ones)."""
    categorical, numerical = arrays["categorical_columns"], arrays["numeric_columns"]
    if not len(categorical):
        return lambda X: np.ascontiguousarray(X, dtype=np.float64)
    bounds = np.concatenate([[0], np.cumsum(arrays["known_lengths"])])
    known = [arrays["known_values"][bounds[j]:bounds[j + 1]] for j in range(len(categorical))]

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


def _inverse_link(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if name == "identity":
        return lambda raw: raw
    if name == "log":
        return np.exp
    if name == "logit":
        from scipy.special import expit  # what scikit-learn's LogitLink uses

        return expit
    raise ValueError(f"unknown link {name!r}")
