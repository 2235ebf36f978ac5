"""Boosting libraries' trees as flat arrays, and their walk for all trees and rows at once.

`appliance.plans.boosters` reads each library's trees into one rule per node: a number goes left if it
is at most the node's threshold (after the library's own rounding of inputs to float32, where it
rounds); NaN goes the node's `nan_left` way, and so does a value within 1e-35 of zero at a node that
treats zero as missing (LightGBM's "Zero"); a categorical node looks its code up in a table row (the
last column is every other code: unseen, negative, or beyond the trained ones). Leaf values are
summed tree after tree in the library's precision (float32 or float64), from the library's base.
The links call the C library's `exp` and `expf` one value at a time, as the libraries do: NumPy's
vectorised exp differs from them in the last bit on about 3% of values, the C library's `expf` is not
always correctly rounded either, and only the same function gives the same bits.

One row (the scoring API's usual request) takes the first of these that applies:
- `oblivious_walk` (appliance/plans/leaf_bits.py): CatBoost's oblivious trees as CatBoost evaluates
  them (one split per level).
- `feature_walk`: trees of at most 64 leaves, leaves as bits (QuickScorer), with each feature's
  distinct thresholds tabulated against the leaves they rule out: one comparison per distinct
  threshold and one OR per tree, whatever the depth.
- `bit_walk`: the same bits node by node (nodes that read zero as missing, or tables too large).
- `_row_walk`: every internal node decides at once, then one `take` per level (larger trees).
More rows move every (row, tree) cursor one level per step (`_level_walk`). Every path is checked
against the library when the plan is compiled (probe rows one at a time, holdout rows together).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from appliance.plans.forest import node_order
from appliance.plans.leaf_bits import ZERO, Finish, bit_walk, feature_walk, oblivious_walk

ROW_BY_ROW = 16  # at most this many rows are walked one row at a time
CHUNK_ROWS = 4096  # rows walked together: the level walk holds (rows x trees) cursors, ~6 MB an array at 200 trees


class TreeBuilder:
    """Collects nodes of many trees; a node's children are linked once both exist."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.roots: list[int] = []

    def leaf(self, value: float) -> int:
        return self._add(value=value, leaf=True)

    def numeric(self, feature: int, threshold: float, *, nan_left: bool, zero_missing: bool = False) -> int:
        return self._add(feature=feature, threshold=threshold, nan_left=nan_left, zero_missing=zero_missing)

    def categorical(self, feature: int, *, left_codes: list[int] | None = None, right_codes: list[int] | None = None,
                    other_left: bool, nan_left: bool) -> int:
        return self._add(feature=feature, nan_left=nan_left, categorical=True, other_left=other_left,
                         left_codes=[int(c) for c in left_codes or []], right_codes=[int(c) for c in right_codes or []])

    def link(self, node: int, left: int, right: int) -> None:
        self.nodes[node]["left"], self.nodes[node]["right"] = left, right

    def root(self, node: int) -> None:
        self.roots.append(node)

    def _add(self, **fields: Any) -> int:
        self.nodes.append(fields)
        return len(self.nodes) - 1


def forest_arrays(builder: TreeBuilder, base: float) -> dict[str, np.ndarray]:
    """The builder's trees as the arrays a plan stores (`base`: where the sum starts)."""
    nodes = builder.nodes
    categorical = [i for i, n in enumerate(nodes) if n.get("categorical")]
    width = 1 + max([c for i in categorical for c in nodes[i]["left_codes"] + nodes[i]["right_codes"]] + [-1])
    table = np.zeros((len(categorical) + 1, width + 1), dtype=bool)  # row 0: numeric nodes (unused)
    row_of = np.zeros(len(nodes), dtype=np.intp)
    for row, i in enumerate(categorical, start=1):
        table[row, :] = bool(nodes[i]["other_left"])
        table[row, nodes[i]["left_codes"]] = True
        table[row, nodes[i]["right_codes"]] = False
        row_of[i] = row
    return {
        "left": np.array([n.get("left", -1) for n in nodes], dtype=np.intp),
        "right": np.array([n.get("right", -1) for n in nodes], dtype=np.intp),
        "feature": np.array([n.get("feature", 0) for n in nodes], dtype=np.intp),
        "threshold": np.array([n.get("threshold", 0.0) for n in nodes], dtype=np.float64),
        "nan_left": np.array([bool(n.get("nan_left", False)) for n in nodes], dtype=bool),
        "zero_missing": np.array([bool(n.get("zero_missing", False)) for n in nodes], dtype=bool),
        "is_leaf": np.array([bool(n.get("leaf", False)) for n in nodes], dtype=bool),
        "is_categorical": np.array([bool(n.get("categorical", False)) for n in nodes], dtype=bool),
        "category_row": row_of, "category_table": table,
        "value": np.array([n.get("value", 0.0) for n in nodes], dtype=np.float64),
        "roots": np.array(builder.roots, dtype=np.intp),
        "base": np.array([base], dtype=np.float64),
        "depth": np.array([_depth(nodes, builder.roots)], dtype=np.intp),
    }


def _depth(nodes: list[dict[str, Any]], roots: list[int]) -> int:
    """Internal levels on the deepest path (the walk's number of steps)."""
    deepest, level = 0, [r for r in roots if not nodes[r].get("leaf")]
    while level:
        deepest += 1
        level = [c for n in level for c in (nodes[n]["left"], nodes[n]["right"]) if not nodes[c].get("leaf")]
    return deepest


def booster_runner(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """X (float64, the model's input columns) → predict_proba (binary) or predict (regression)."""
    finish, finish_one = _finishers(spec, arrays)
    one = (oblivious_walk(arrays, finish_one) or feature_walk(arrays, finish_one) or bit_walk(arrays, finish_one)
           or _row_walk(arrays, finish_one))
    walk = _level_walk(arrays, finish)
    input32 = bool(spec["input32"])

    def predict(X: np.ndarray) -> np.ndarray:
        if input32:  # the library reads float32: the same rounding here (beyond its range: inf, as there)
            with np.errstate(over="ignore"):
                X = X.astype(np.float32).astype(np.float64)
        if X.shape[0] == 1:
            return one(X[0])
        if X.shape[0] <= ROW_BY_ROW:
            return np.concatenate([one(row) for row in X]) if X.shape[0] else walk(X)
        if X.shape[0] <= CHUNK_ROWS:
            return walk(X)
        return np.concatenate([walk(X[start:start + CHUNK_ROWS]) for start in range(0, X.shape[0], CHUNK_ROWS)])

    return predict


def _row_walk(arrays: dict[str, np.ndarray],
              finish: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """One row: all internal nodes decide at once, then each level is one `take` into the (right, left)
    pairs of the nodes the cursors are on. Nodes are renumbered so categorical internal nodes come
    first, then numeric ones, then leaves (which always "go left", to themselves)."""
    leaf, categorical = arrays["is_leaf"], arrays["is_categorical"]
    order, renumber, n_categorical, n_internal = node_order(leaf, categorical)
    internal = order[:n_internal]
    feature, threshold = arrays["feature"][internal], arrays["threshold"][internal]
    nan_left, zero_missing = arrays["nan_left"][internal], arrays["zero_missing"][internal]
    any_zero = bool(zero_missing.any())
    own = np.arange(len(order), dtype=np.intp)
    left = np.concatenate([renumber[arrays["left"][internal]], own[n_internal:]])  # a leaf points at itself
    right = np.concatenate([renumber[arrays["right"][internal]], own[n_internal:]])
    pairs = np.stack([right, left], axis=1).ravel()  # pairs[2 * node + goes_left]
    at_leaves = np.ones(len(order) - n_internal, dtype=np.int8)
    value, roots = arrays["value"][order], renumber[arrays["roots"]]
    table = arrays["category_table"]
    other = table.shape[1] - 1
    table_index = arrays["category_row"][internal[:n_categorical]] * table.shape[1]
    table_flat, category_feature = table.ravel(), feature[:n_categorical]
    depth = int(arrays["depth"][0])

    def one(row: np.ndarray) -> np.ndarray:
        x = row.take(feature)
        go_left = x <= threshold
        if n_categorical:  # each column's table column (its code, else "other"), then one lookup per node
            codes = np.where((row >= 0) & (row < other), row, other).astype(np.intp)  # NaN: other (then missing)
            go_left[:n_categorical] = table_flat.take(table_index + codes.take(category_feature))
        if np.isnan(row).any():
            go_left = np.where(np.isnan(x), nan_left, go_left)
        if any_zero:
            go_left = np.where(zero_missing & (np.abs(x) <= ZERO), nan_left, go_left)
        goes = np.concatenate((go_left.view(np.int8), at_leaves))
        node = roots
        for _ in range(depth):
            node = pairs.take(2 * node + goes.take(node))
        return finish(value.take(node))

    return one


def _level_walk(arrays: dict[str, np.ndarray],
                finish: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Every (row, tree) cursor moves one level per step."""
    leaf = arrays["is_leaf"]
    own = np.arange(len(leaf))
    left, right = np.where(leaf, own, arrays["left"]), np.where(leaf, own, arrays["right"])
    feature, threshold, nan_left = arrays["feature"], arrays["threshold"], arrays["nan_left"]
    zero_missing, is_categorical = arrays["zero_missing"], arrays["is_categorical"]
    any_zero, any_categorical = bool(zero_missing.any()), bool(is_categorical.any())
    table, category_row = arrays["category_table"], arrays["category_row"]
    other = table.shape[1] - 1
    roots, value, depth = arrays["roots"], arrays["value"], int(arrays["depth"][0])

    def walk(X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        node = np.repeat(roots[None, :], n, axis=0)
        rows = np.arange(n)[:, None]
        for _ in range(depth):
            x = X[rows, feature[node]]
            go_left = x <= threshold[node]
            if any_categorical:
                codes = np.where((x >= 0) & (x < other), x, other).astype(np.intp)
                go_left = np.where(is_categorical[node], table[category_row[node], codes], go_left)
            go_left = np.where(np.isnan(x), nan_left[node], go_left)
            if any_zero:
                go_left = np.where(zero_missing[node] & (np.abs(x) <= ZERO), nan_left[node], go_left)
            node = np.where(go_left, left[node], right[node])
        return finish(value[node])

    return walk


def _finishers(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[Finish, Finish]:
    """Leaf values (rows, trees) → the library's answer: summed in its precision, linked, shaped; and
    the same for one row's leaf values (1-D)."""
    dtype = np.float32 if spec["sum32"] else np.float64
    base = dtype(arrays["base"][0])
    scale, bias = float(spec.get("scale", 1.0)), float(spec.get("bias", 0.0))
    affine = (scale, bias) != (1.0, 0.0)
    link = _link(spec["link"], float(spec.get("sigmoid", 1.0)))
    proba, complement32 = spec["output"] == "proba", bool(spec.get("complement32"))

    def finish(leaves: np.ndarray) -> np.ndarray:
        terms = np.empty((leaves.shape[0], leaves.shape[1] + 1), dtype=dtype)
        terms[:, 0] = base
        terms[:, 1:] = leaves
        raw = np.cumsum(terms, axis=1, dtype=dtype)[:, -1]  # sequential, tree after tree, as the libraries add
        if affine:
            raw = np.add(np.multiply(raw, scale), bias)
        positive = link(raw)
        if not proba:
            return positive.astype(np.float64)
        out = np.empty((len(positive), 2), dtype=np.float64)
        out[:, 1] = positive
        out[:, 0] = (np.float32(1) - positive.astype(np.float32)) if complement32 else 1.0 - positive.astype(np.float64)
        return out

    scalar_link = _scalar_link(spec["link"], float(spec.get("sigmoid", 1.0)))

    def finish_one(leaves: np.ndarray) -> np.ndarray:
        """`finish` for one row's leaf values (1-D): the same operations on scalars, fewer calls."""
        terms = np.empty(len(leaves) + 1, dtype=dtype)
        terms[0] = base
        terms[1:] = leaves
        raw = terms.cumsum()[-1]
        positive = scalar_link(float(raw) * scale + bias if affine else raw)
        if not proba:
            return np.array([positive], dtype=np.float64)
        complement = np.float32(1) - np.float32(positive) if complement32 else 1.0 - float(positive)
        return np.array([[complement, positive]], dtype=np.float64)

    return finish, finish_one


def _scalar_link(name: str, sigmoid: float) -> Callable[[Any], Any]:
    """`_link` on one value (a NumPy scalar of the sum's precision), with the same operations."""
    if name == "sigmoid32":
        expf, one = _expf(), np.float32(1)
        return lambda raw: one / (one + np.float32(expf(-float(raw))))
    if name == "sigmoid":
        return lambda raw: 1.0 / (1.0 + math.exp(-sigmoid * float(raw)))
    if name == "identity":
        return lambda raw: raw
    raise ValueError(f"unknown link {name!r}")


def _link(name: str, sigmoid: float) -> Callable[[np.ndarray], np.ndarray]:
    if name == "sigmoid32":  # XGBoost: 1/(1 + expf(-x)) in float32
        expf = _expf()
        return lambda raw: np.float32(1) / (np.float32(1) + np.fromiter(map(expf, (-raw).tolist()), dtype=np.float32,
                                                                         count=len(raw)))
    if name == "sigmoid":  # LightGBM and CatBoost: 1/(1 + exp(-s x)) in double
        return lambda raw: 1.0 / (1.0 + np.fromiter(map(math.exp, (-sigmoid * raw).tolist()), dtype=np.float64,
                                                    count=len(raw)))
    if name == "identity":
        return lambda raw: raw
    raise ValueError(f"unknown link {name!r}")


@lru_cache(maxsize=1)
def _expf() -> Callable[[float], float]:
    """The C library's expf, which XGBoost calls; NumPy's float32 exp is a different approximation."""
    import ctypes
    import ctypes.util

    try:
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    expf = libm.expf
    expf.restype, expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return expf
