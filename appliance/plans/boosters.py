"""XGBoost, LightGBM and CatBoost models read into flat tree arrays (`appliance.plans.trees` walks them).

Each library's trees come from its own model dump: XGBoost's JSON model (`save_raw("json")`),
LightGBM's `dump_model()`, CatBoost's JSON export. Every split becomes "x <= threshold goes left"
over the library's own input precision, so one walk serves the three:

- XGBoost reads inputs as float32 and sends `x < split` left: the threshold is the float32 just below
  the split. NaN takes the node's default direction. A categorical split sends the categories in its
  set right and every other code (unseen or negative) left. Leaf values are float32 and are added in
  float32, tree after tree, to the float32 base margin; the logistic link is float32 too. The plan
  repeats that float32 arithmetic, so its answers are identical to XGBoost's.
- LightGBM reads doubles and sends `x <= threshold` left. Missing values follow `missing_type`: "NaN"
  sends NaN the default way; "Zero" treats NaN and zero as missing; "None" reads NaN as zero. A
  categorical split sends the codes in its set ("1||3||5") left and NaN, negative and other codes
  right. Leaf values are doubles summed in double: identical.
- CatBoost (oblivious trees over numbers only) reads float32 inputs; a split's bit is `x > border`
  and a tree's leaf is its bits read as a binary number, expanded here into an ordinary tree. NaN
  counts as below every border unless the feature says `AsTrue`. Leaf values are doubles summed in
  double, then scaled and shifted: identical. A CatBoost model with categorical features scores
  them through CTR statistics learnt in training, which have no array form here: it gets no plan.

A model these rules do not cover (multiclass, linear trees, random-forest averaging, other links)
gets no plan: `compile_booster` returns the reason, and the library serves it.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from appliance.plans.trees import TreeBuilder, forest_arrays

StepData = tuple[dict[str, Any], dict[str, np.ndarray]]
XGBOOST_LINKS = {"binary:logistic": "sigmoid32", "reg:squarederror": "identity", "reg:absoluteerror": "identity",
                 "reg:pseudohubererror": "identity", "reg:quantileerror": "identity"}
LIGHTGBM_LINKS = {"binary": "sigmoid", "regression": "identity", "regression_l1": "identity", "huber": "identity",
                  "fair": "identity", "quantile": "identity", "mape": "identity"}
CATBOOST_LINKS = {"Logloss": "sigmoid", "CrossEntropy": "sigmoid", "RMSE": "identity", "MAE": "identity",
                  "Quantile": "identity", "MAPE": "identity", "Huber": "identity"}


class NoPlan(Exception):
    """Why a model has no array form (the message is shown to the people who run it)."""


def library_of(estimator: Any) -> str | None:
    """'xgboost', 'lightgbm' or 'catboost' for those libraries' estimators and Vigil's NativeBooster."""
    from appliance.boosters.native import NativeBooster

    if isinstance(estimator, NativeBooster):
        return estimator.library
    module = type(estimator).__module__.split(".")[0]
    return module if module in ("xgboost", "lightgbm", "catboost") else None


def compile_booster(estimator: Any, task: str, *, native: bool) -> StepData:
    """(spec, arrays) of the estimator's trees; NoPlan says why there are none.

    `native`: the estimator is a NativeBooster (its probability's complement is taken in float64;
    XGBoost's own classifier takes it in float32)."""
    if task not in ("binary", "regression"):
        raise NoPlan(f"{task} models are served by their library (plans cover binary and regression)")
    library = library_of(estimator)
    booster = estimator.booster() if native else _library_booster(estimator, library)
    spec, arrays = _READERS[str(library)](estimator, booster, task)
    binary = task == "binary"
    if binary != spec["link"].startswith("sigmoid"):
        raise NoPlan(f"its objective's link ({spec['link']}) does not fit a {task} model")
    spec.update(kind="booster", library=library, output="proba" if binary else "value",
                complement32=bool(binary and library == "xgboost" and not native))
    return spec, arrays


def _library_booster(estimator: Any, library: str | None) -> Any:
    if library == "xgboost":
        return estimator.get_booster()
    if library == "lightgbm":
        return estimator.booster_
    return estimator


# -- XGBoost --------------------------------------------------------------------------------------

def _xgboost(estimator: Any, booster: Any, task: str) -> StepData:
    learner = json.loads(bytes(booster.save_raw(raw_format="json")).decode("utf-8"))["learner"]
    model = learner["gradient_booster"]
    if model.get("name") != "gbtree":
        raise NoPlan(f"XGBoost booster '{model.get('name')}' is not a tree ensemble of one output")
    objective = learner["objective"]["name"]
    link = XGBOOST_LINKS.get(objective)
    params = learner["learner_model_param"]
    if link is None or int(params.get("num_class", "0")) > 1 or int(params.get("num_target", "1")) != 1:
        raise NoPlan(f"XGBoost objective '{objective}' (outputs: {params.get('num_target', '1')}) has no plan form")
    trees = model["model"]["trees"]
    builder = TreeBuilder()
    for tree in trees:
        if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise NoPlan("XGBoost vector-leaf trees have no plan form")
        _xgboost_tree(builder, tree)
    base = np.float32(json.loads(params["base_score"]) if params["base_score"].startswith("[")
                      else float(params["base_score"])).reshape(-1)[0]
    if link == "sigmoid32":  # the library's ProbToMargin, in float32: -log(1/p - 1)
        base = np.float32(-math.log(float(np.float32(1) / base - np.float32(1))))
    spec = {"input32": True, "sum32": True, "link": link, "scale": 1.0, "bias": 0.0}
    return spec, forest_arrays(builder, float(base))


def _xgboost_tree(builder: TreeBuilder, tree: dict[str, Any]) -> None:
    left, right, conditions = tree["left_children"], tree["right_children"], tree["split_conditions"]
    features, default_left, kinds = tree["split_indices"], tree["default_left"], tree.get("split_type") or []
    sets = {node: tree["categories"][start:start + size] for node, start, size in
            zip(tree.get("categories_nodes", []), tree.get("categories_segments", []),
                tree.get("categories_sizes", []))}

    def add(node: int) -> int:
        if left[node] == -1:
            return builder.leaf(float(np.float32(conditions[node])))
        categorical = bool(kinds and kinds[node] == 1)
        if categorical:  # codes in the set go right, any other code left
            here = builder.categorical(int(features[node]), right_codes=sets.get(node, []), other_left=True,
                                       nan_left=bool(default_left[node]))
        else:  # x < split (float32) is x <= the float32 just below it
            below = float(np.nextafter(np.float32(conditions[node]), np.float32(-np.inf)))
            here = builder.numeric(int(features[node]), below, nan_left=bool(default_left[node]))
        builder.link(here, add(left[node]), add(right[node]))
        return here

    builder.root(add(0))


# -- LightGBM -------------------------------------------------------------------------------------

def _lightgbm(estimator: Any, booster: Any, task: str) -> StepData:
    dump = booster.dump_model()
    objective = str(dump.get("objective", "")).split()
    link = LIGHTGBM_LINKS.get(objective[0] if objective else "")
    if link is None or int(dump.get("num_tree_per_iteration", 1)) != 1 or dump.get("average_output"):
        raise NoPlan(f"LightGBM objective '{dump.get('objective')}' has no plan form"
                     + (" (random-forest averaging)" if dump.get("average_output") else ""))
    sigmoid = 1.0
    for part in objective[1:]:
        if part.startswith("sigmoid:"):
            sigmoid = float(part.split(":", 1)[1])
    builder = TreeBuilder()
    for tree in dump["tree_info"]:
        structure = tree["tree_structure"]
        if _has_linear_leaves(structure):
            raise NoPlan("LightGBM linear trees have no plan form")
        builder.root(_lightgbm_node(builder, structure))
    spec = {"input32": False, "sum32": False, "link": link, "sigmoid": sigmoid, "scale": 1.0, "bias": 0.0}
    return spec, forest_arrays(builder, 0.0)


def _has_linear_leaves(node: dict[str, Any]) -> bool:
    if "leaf_value" in node:
        return "leaf_coeff" in node
    return _has_linear_leaves(node["left_child"]) or _has_linear_leaves(node["right_child"])


def _lightgbm_node(builder: TreeBuilder, node: dict[str, Any]) -> int:
    if "leaf_value" in node:
        return builder.leaf(float(node["leaf_value"]))
    feature, default_left, missing = int(node["split_feature"]), bool(node["default_left"]), node["missing_type"]
    if node["decision_type"] == "==":  # the set goes left; NaN, negative and other codes right
        codes = [int(c) for c in str(node["threshold"]).split("||") if c != ""]
        here = builder.categorical(feature, right_codes=None, left_codes=codes, other_left=False, nan_left=False)
    elif node["decision_type"] == "<=":
        threshold = float(node["threshold"])
        nan_left = default_left if missing in ("NaN", "Zero") else 0.0 <= threshold  # "None": NaN reads as 0
        here = builder.numeric(feature, threshold, nan_left=nan_left, zero_missing=missing == "Zero")
    else:
        raise NoPlan(f"LightGBM decision type '{node['decision_type']}' has no plan form")
    builder.link(here, _lightgbm_node(builder, node["left_child"]), _lightgbm_node(builder, node["right_child"]))
    return here


# -- CatBoost -------------------------------------------------------------------------------------

def _catboost(estimator: Any, booster: Any, task: str) -> StepData:
    if list(booster.get_cat_feature_indices()):
        raise NoPlan("CatBoost scores categorical features through CTR statistics learnt in training, "
                     "which have no array form")
    loss = str(booster.get_all_params().get("loss_function", "")).split(":")[0]
    link = CATBOOST_LINKS.get(loss)
    if link is None:
        raise NoPlan(f"CatBoost loss '{loss}' has no plan form")
    model = _catboost_json(booster)
    if "oblivious_trees" not in model or model.get("non_symmetric_trees"):
        raise NoPlan("CatBoost non-symmetric trees have no plan form")
    floats = {int(f["feature_index"]): (int(f["flat_feature_index"]), f.get("nan_value_treatment") == "AsTrue")
              for f in model["features_info"].get("float_features", [])}
    builder = TreeBuilder()
    for tree in model["oblivious_trees"]:
        builder.root(_oblivious(builder, tree, floats))
    scale, bias = model.get("scale_and_bias", [1.0, [0.0]])
    bias = float(np.asarray(bias, dtype=np.float64).reshape(-1)[0]) if np.size(bias) else 0.0
    spec = {"input32": True, "sum32": False, "link": link, "scale": float(scale), "bias": bias}
    return spec, {**forest_arrays(builder, 0.0), **_oblivious_arrays(model["oblivious_trees"], floats)}


def _oblivious_arrays(trees: list[dict[str, Any]], floats: dict[int, tuple[int, bool]]) -> dict[str, np.ndarray]:
    """The same trees as CatBoost keeps them, for the one-row walk (`appliance.plans.trees`): each tree's
    splits (column, border, NaN counts as above) and its leaves, indexed by the splits' bits. Trees of
    fewer levels are padded with splits no value passes (bit 0) and zero leaves no index reaches."""
    depth = max([len(t.get("splits", [])) for t in trees] + [0])
    columns, borders = np.zeros((len(trees), depth), dtype=np.intp), np.full((len(trees), depth), np.inf)
    nan_above = np.zeros((len(trees), depth), dtype=bool)
    leaves = np.zeros((len(trees), 2 ** depth), dtype=np.float64)
    for t, tree in enumerate(trees):
        for level, split in enumerate(tree.get("splits", [])):
            column, as_true = floats[int(split["float_feature_index"])]
            columns[t, level], nan_above[t, level] = column, as_true
            borders[t, level] = float(np.float32(split["border"]))
        leaves[t, :len(tree["leaf_values"])] = np.asarray(tree["leaf_values"], dtype=np.float64)
    return {"oblivious_column": columns, "oblivious_border": borders, "oblivious_nan_above": nan_above,
            "oblivious_leaves": leaves}


def _catboost_json(booster: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vigil-plan-") as scratch:
        path = Path(scratch) / "model.json"
        booster.save_model(str(path), format="json")
        return json.loads(path.read_text(encoding="utf-8"))


def _oblivious(builder: TreeBuilder, tree: dict[str, Any], floats: dict[int, tuple[int, bool]]) -> int:
    """An oblivious tree as an ordinary one: level d tests split d; the leaf is the bits read as a number."""
    splits, values = tree.get("splits", []), tree["leaf_values"]
    if any(s.get("split_type") != "FloatFeature" for s in splits) or len(values) != 2 ** len(splits):
        raise NoPlan("CatBoost trees over categorical or one-hot features have no plan form")

    def add(level: int, index: int) -> int:
        if level == len(splits):
            return builder.leaf(float(values[index]))
        split = splits[level]
        column, as_true = floats[int(split["float_feature_index"])]
        # bit = x > border (float32): x <= border goes left (bit 0); NaN is below all borders unless AsTrue
        here = builder.numeric(column, float(np.float32(split["border"])), nan_left=not as_true)
        builder.link(here, add(level + 1, index), add(level + 1, index | (1 << level)))
        return here

    return add(0, 0)


_READERS = {"xgboost": _xgboost, "lightgbm": _lightgbm, "catboost": _catboost}
