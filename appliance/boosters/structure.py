"""Checking a parsed XGBoost or LightGBM model's trees before anything predicts with them.

Both libraries load a model file whose trees point outside themselves (a child index past the last
node, a split on a feature the model does not have, a categorical split whose category range is past
its array) without complaint, then read and write outside their arrays when they predict: the process
crashes, or answers from whatever memory was there. Which rows reach a bad node depends on the input,
so reading the file once in a child process (`parse_check`) cannot rule it out. So every booster is
checked here after it is parsed and before its first prediction: every node reachable from a root is
reached once, through in-range children, and splits on an existing feature.
"""

from __future__ import annotations

import json
import re
from typing import Any

from appliance.errors import ArtifactError


def check_booster(library: str, booster: Any, label: str) -> None:
    """ArtifactError naming `label` unless every tree of this parsed booster is well formed."""
    if library == "xgboost":
        _check_xgboost(json.loads(bytes(booster.save_raw(raw_format="json")).decode("utf-8")), label)
    elif library == "lightgbm":
        _check_lightgbm(booster.model_to_string(), label)
    elif library == "catboost":
        check_catboost_document(_catboost_json(booster, label), label)


def check_model(model: Any, label: str) -> None:
    """Check every XGBoost and LightGBM booster a loaded estimator or pipeline holds (skops payloads)."""
    for library, booster in _boosters(model, set()):
        check_booster(library, booster, label)


def _boosters(value: Any, seen: set[int]) -> list[tuple[str, Any]]:
    if id(value) in seen or isinstance(value, (str, bytes, bytearray, int, float, bool, type(None))):
        return []
    seen.add(id(value))
    module = type(value).__module__
    if module == "xgboost.core" and type(value).__name__ == "Booster":
        return [("xgboost", value)] if getattr(value, "handle", None) is not None else []
    if module == "lightgbm.basic" and type(value).__name__ == "Booster":
        return [("lightgbm", value)] if getattr(value, "_handle", None) is not None else []
    if module == "catboost.core" and type(value).__name__ in ("CatBoost", "CatBoostClassifier", "CatBoostRegressor"):
        return [("catboost", value)] if value.is_fitted() else []
    if isinstance(value, dict):
        children: Any = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = value
    else:
        children = list(getattr(value, "__dict__", {}).values())
    return [found for child in children for found in _boosters(child, seen)]


def _refuse(label: str, detail: str) -> ArtifactError:
    return ArtifactError(f"{label} holds a malformed tree ({detail}); the library would read outside the model "
                         "when it predicts; save the model again with the library")


# -- XGBoost ----------------------------------------------------------------------------------------

def _check_xgboost(document: dict[str, Any], label: str) -> None:
    learner = document["learner"]
    features = int(learner["learner_model_param"]["num_feature"])
    groups = max(1, int(learner["learner_model_param"].get("num_class", 0) or 0),
                 int(learner["learner_model_param"].get("num_target", 1) or 1))
    booster = learner["gradient_booster"]
    model = booster.get("gbtree", booster).get("model")
    if model is None:  # gblinear: a weight per feature (and the bias) per output group
        weights = booster.get("model", {}).get("weights", [])
        if len(weights) != (features + 1) * groups:
            raise _refuse(label, f"{len(weights)} linear weights for {features} features and {groups} outputs")
        return
    trees, info = model.get("trees", []), model.get("tree_info", [])
    if len(info) != len(trees) or any(not 0 <= int(g) < groups for g in info):
        raise _refuse(label, f"tree_info does not assign each of the {len(trees)} trees one of {groups} outputs")
    for number, tree in enumerate(trees):
        _check_xgboost_tree(tree, features, f"tree {number}", label)


def _check_xgboost_tree(tree: dict[str, Any], features: int, where: str, label: str) -> None:
    count = int(tree["tree_param"]["num_nodes"])
    left, right, split = tree["left_children"], tree["right_children"], tree["split_indices"]
    split_type = tree.get("split_type") or [0] * count
    if count < 1 or any(len(a) != count for a in (left, right, split, tree["split_conditions"], tree["default_left"],
                                                    split_type)):
        raise _refuse(label, f"{where}: its arrays are not all {count} nodes long")
    categorical = _xgboost_category_ranges(tree, count, where, label)
    for node in _walk(0, count, lambda n: (int(left[n]), int(right[n])) if int(left[n]) != -1 else None,
                      where, label):
        if not 0 <= int(split[node]) < features:
            raise _refuse(label, f"{where}: node {node} splits on feature {split[node]} of {features}")
        if int(split_type[node]) == 1 and node not in categorical:
            raise _refuse(label, f"{where}: categorical node {node} has no categories")


def _xgboost_category_ranges(tree: dict[str, Any], count: int, where: str, label: str) -> set[int]:
    nodes, segments, sizes = (tree.get(k, []) for k in ("categories_nodes", "categories_segments", "categories_sizes"))
    categories = tree.get("categories", [])
    if not len(nodes) == len(segments) == len(sizes):
        raise _refuse(label, f"{where}: its category arrays differ in length")
    for node, start, size in zip(nodes, segments, sizes):
        if not 0 <= int(node) < count or int(start) < 0 or int(size) < 0 or int(start) + int(size) > len(categories):
            raise _refuse(label, f"{where}: node {node}'s categories lie outside its category array")
    if any(int(c) < 0 for c in categories):
        raise _refuse(label, f"{where}: a negative category")
    return {int(n) for n in nodes}


def _walk(root: int, count: int, children: Any, where: str, label: str) -> list[int]:
    """The internal nodes reachable from `root`, each reached once through children in [0, count)."""
    internal, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if not 0 <= node < count:
            raise _refuse(label, f"{where}: a split points to node {node}, outside its {count} nodes")
        if node in seen:
            raise _refuse(label, f"{where}: node {node} is reached twice")
        seen.add(node)
        pair = children(node)
        if pair is not None:
            internal.append(node)
            stack.extend(pair)
    return internal


# -- LightGBM ---------------------------------------------------------------------------------------

def _check_lightgbm(text: str, label: str) -> None:
    header, _, rest = text.partition("\nTree=")
    features = int(_field(header, "max_feature_idx", label, "the model")) + 1
    body = rest.split("\nend of trees", 1)[0]
    for number, block in enumerate(body.split("\nTree=")):
        _check_lightgbm_tree(block, features, f"tree {number}", label)


def _check_lightgbm_tree(block: str, features: int, where: str, label: str) -> None:
    leaves = int(_field(block, "num_leaves", label, where))
    if leaves < 1:
        raise _refuse(label, f"{where}: {leaves} leaves")
    values = _numbers(block, "leaf_value", where, label, floats=True)
    if len(values) != leaves:
        raise _refuse(label, f"{where}: {len(values)} leaf values for {leaves} leaves")
    if leaves == 1:
        return
    internal = leaves - 1
    split, left, right = (_numbers(block, k, where, label) for k in ("split_feature", "left_child", "right_child"))
    decision = _numbers(block, "decision_type", where, label)
    threshold = _numbers(block, "threshold", where, label, floats=True)
    if any(len(a) != internal for a in (split, left, right, decision, threshold)):
        raise _refuse(label, f"{where}: its split arrays are not all {internal} nodes long")
    seen_leaves: set[int] = set()

    def children(node: int) -> tuple[int, ...]:
        inner = []
        for child in (int(left[node]), int(right[node])):
            if child >= 0:
                inner.append(child)
            elif not 0 <= ~child < leaves or ~child in seen_leaves:
                raise _refuse(label, f"{where}: node {node} points to leaf {~child} of {leaves}, or one reached twice")
            else:
                seen_leaves.add(~child)
        return tuple(inner)

    categories = _lightgbm_categories(block, where, label)
    for node in _walk(0, internal, children, where, label):
        if not 0 <= int(split[node]) < features:
            raise _refuse(label, f"{where}: node {node} splits on feature {split[node]} of {features}")
        if int(decision[node]) & 1 and not 0 <= int(threshold[node]) < categories:
            raise _refuse(label, f"{where}: categorical node {node} names category set {threshold[node]} of {categories}")
    if "is_linear=1" in block and any(not 0 <= int(f) < features
                                      for f in _numbers(block, "leaf_features", where, label)):
        raise _refuse(label, f"{where}: a linear leaf uses a feature outside the model's {features}")


def _lightgbm_categories(block: str, where: str, label: str) -> int:
    """The number of category sets the tree's categorical splits may name, once their bounds check out."""
    count = int(_field(block, "num_cat", label, where, default="0"))
    if count == 0:
        return 0
    bounds = _numbers(block, "cat_boundaries", where, label)
    words = _numbers(block, "cat_threshold", where, label)
    if len(bounds) != count + 1 or bounds[0] != 0 or any(b > a for a, b in zip(bounds[1:], bounds)) \
            or bounds[-1] > len(words):
        raise _refuse(label, f"{where}: its category boundaries do not fit its {len(words)} category words")
    return count


def _field(text: str, name: str, label: str, where: str, default: str | None = None) -> str:
    match = re.search(rf"^{name}=(.*)$", text, re.MULTILINE)
    if match is None:
        if default is not None:
            return default
        raise _refuse(label, f"{where}: no {name}")
    return match.group(1).strip()


def _numbers(text: str, name: str, where: str, label: str, *, floats: bool = False) -> list[Any]:
    words = _field(text, name, label, where, default="").split()
    try:
        return [float(w) for w in words] if floats else [int(w) for w in words]
    except ValueError as e:
        raise _refuse(label, f"{where}: {name} is not a list of numbers") from e


# -- CatBoost ---------------------------------------------------------------------------------------

def _catboost_json(booster: Any, label: str) -> dict[str, Any]:
    """The model as CatBoost's own JSON export (written to a private temporary folder and read back)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="vigil-catboost-check-") as scratch:
        target = Path(scratch) / "model.json"
        try:
            booster.save_model(str(target), format="json")
        except Exception as e:  # CatBoost raises its own error type
            raise _refuse(label, f"CatBoost could not export it: {str(e).strip()[:200]}") from e
        return dict(json.loads(target.read_text(encoding="utf-8")))


def check_catboost_document(document: dict[str, Any], label: str) -> None:
    """Oblivious trees: 2**depth leaves per output dimension in every tree, float splits on features
    the model has."""
    trees = document.get("oblivious_trees")
    if not isinstance(trees, list):
        raise _refuse(label, "no oblivious trees (non-symmetric CatBoost trees are not read)")
    floats = len((document.get("features_info") or {}).get("float_features") or [])
    dimension: int | None = None
    for number, tree in enumerate(trees):
        where = f"tree {number}"
        splits, leaves = tree.get("splits") or [], tree.get("leaf_values") or []
        if len(splits) > 16:
            raise _refuse(label, f"{where}: depth {len(splits)}, deeper than CatBoost builds")
        width, rest = divmod(len(leaves), 2 ** len(splits))
        if rest or width < 1 or (dimension is not None and width != dimension):
            raise _refuse(label, f"{where}: {len(leaves)} leaf values for depth {len(splits)}")
        dimension = width
        for split in splits:
            index = split.get("float_feature_index")
            if split.get("split_type") == "FloatFeature" and not (isinstance(index, int) and 0 <= index < floats):
                raise _refuse(label, f"{where}: a split on float feature {index}, outside its {floats} features")
