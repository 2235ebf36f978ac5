"""scikit-learn random forests as plan estimators: their trees in the flat arrays of
`appliance.plans.trees`, walked by the same code.

scikit-learn reads a forest's inputs as float32 and sends `x <= threshold` (a double) left, NaN the
node's `missing_go_to_left` way. A classifier's tree answers its leaf's class fractions (`tree_.value`),
a regressor's its leaf mean; the forest adds the trees' answers to zeros, tree after tree, and divides
by the number of trees. The plan does the same: each leaf's node number is what the walk returns, its
answers are looked up, summed in tree order (a sequential `cumsum`) and divided, so the answers are
the same bits. With `n_jobs` other than 1 the trees are added in whatever order threads finish, which
varies between calls: no plan then.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from appliance.plans.steps import StepData


def compile_random_forest(estimator: Any, task: str) -> StepData | None:
    """A fitted RandomForest* / ExtraTrees* as (spec, arrays); None when it is not one; NoPlan when it cannot be."""
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier,
                                  RandomForestRegressor)

    from appliance.plans.boosters import NoPlan

    name = type(estimator).__name__
    classifier = isinstance(estimator, (RandomForestClassifier, ExtraTreesClassifier))
    if not (classifier or isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor))):
        return None
    if estimator.n_outputs_ != 1 or (classifier and estimator.n_classes_ != 2):
        raise NoPlan(f"its {name} has several outputs or classes (plans cover binary and regression)")
    if classifier != (task == "binary"):
        raise NoPlan(f"its {name} does not answer a {task} model")
    if estimator.n_jobs not in (None, 1):
        raise NoPlan(f"its {name} has n_jobs={estimator.n_jobs}: its trees are added in the order threads "
                     "finish, so its own answers vary in the last bit")
    trees = [e.tree_ for e in estimator.estimators_]
    arrays = _arrays(trees, classifier)
    return {"kind": "random_forest", "output": "proba" if classifier else "value"}, arrays


def _arrays(trees: list[Any], classifier: bool) -> dict[str, np.ndarray]:
    """The trees' nodes one after another, children renumbered; `value` is each node's own number."""
    sizes = np.array([t.node_count for t in trees], dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    left = np.concatenate([t.children_left for t in trees]).astype(np.intp)
    right = np.concatenate([t.children_right for t in trees]).astype(np.intp)
    shift = np.repeat(offsets, sizes)
    is_leaf = left == -1
    nodes = len(left)
    missing = [getattr(t, "missing_go_to_left", None) for t in trees]
    values = np.concatenate([t.value[:, 0, :] for t in trees])  # (nodes, classes) or (nodes, 1)
    out = {
        "left": np.where(is_leaf, -1, left + shift), "right": np.where(is_leaf, -1, right + shift),
        "feature": np.where(is_leaf, 0, np.concatenate([t.feature for t in trees])).astype(np.intp),
        "threshold": np.where(is_leaf, 0.0, np.concatenate([t.threshold for t in trees])).astype(np.float64),
        "nan_left": (np.concatenate([m for m in missing]).astype(bool) if all(m is not None for m in missing)
                     else np.zeros(nodes, dtype=bool)),
        "zero_missing": np.zeros(nodes, dtype=bool), "is_leaf": is_leaf,
        "is_categorical": np.zeros(nodes, dtype=bool), "category_row": np.zeros(nodes, dtype=np.intp),
        "category_table": np.zeros((1, 1), dtype=bool),
        "value": np.arange(nodes, dtype=np.float64),  # the walk returns each tree's leaf: its node number
        "roots": offsets, "base": np.zeros(1),
        "depth": np.array([max([t.max_depth for t in trees] + [0])], dtype=np.intp),
        "trees": np.array([len(trees)], dtype=np.intp),
    }
    if classifier:
        out["proba0"], out["proba1"] = (np.ascontiguousarray(values[:, 0], dtype=np.float64),
                                        np.ascontiguousarray(values[:, 1], dtype=np.float64))
    else:
        out["mean"] = np.ascontiguousarray(values[:, 0], dtype=np.float64)
    return out


def random_forest_runner(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """X (float64, the forest's input columns) → predict_proba (binary) or predict (regression)."""
    from appliance.plans.leaf_bits import bit_walk, feature_walk
    from appliance.plans.trees import CHUNK_ROWS, ROW_BY_ROW, _level_walk, _row_walk

    answers = [arrays["proba0"], arrays["proba1"]] if spec["output"] == "proba" else [arrays["mean"]]
    count = float(arrays["trees"][0])

    def finish(leaves: np.ndarray) -> np.ndarray:
        """(rows, trees) leaf node numbers → the forest's answer."""
        nodes = leaves.astype(np.intp)
        columns = []
        for answer in answers:
            terms = np.zeros((nodes.shape[0], nodes.shape[1] + 1), dtype=np.float64)
            terms[:, 1:] = answer[nodes]
            columns.append(np.cumsum(terms, axis=1)[:, -1] / count)  # 0 + tree 1 + tree 2 ..., as scikit-learn
        return np.stack(columns, axis=1) if len(columns) > 1 else columns[0]

    def finish_one(leaves: np.ndarray) -> np.ndarray:
        return finish(leaves[None, :])

    one = feature_walk(arrays, finish_one) or bit_walk(arrays, finish_one) or _row_walk(arrays, finish_one)
    walk = _level_walk(arrays, finish)

    def predict(X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # scikit-learn reads float32 (beyond its range: inf, as there)
            X = np.asarray(X, dtype=np.float64).astype(np.float32).astype(np.float64)
        if X.shape[0] == 1:
            return one(X[0])
        if X.shape[0] <= ROW_BY_ROW:
            return np.concatenate([one(row) for row in X])
        return np.concatenate([walk(X[start:start + CHUNK_ROWS]) for start in range(0, X.shape[0], CHUNK_ROWS)])

    return predict
