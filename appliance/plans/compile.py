"""Compile a fitted scikit-learn pipeline into a scoring plan, and check that it answers the same.

Compiled: `Pipeline([ColumnTransformer, estimator])` whose column groups use the steps of
`appliance.plans.steps` (alone or as a Pipeline per group), with estimator a HistGradientBoosting*
model (one tree per iteration), an XGBoost, LightGBM or CatBoost model (`appliance.plans.boosters`),
a binary LogisticRegression or a LinearRegression (`appliance.plans.linear`) or a random forest
(`appliance.plans.random_forest`); and a `NativeBooster` (a model
imported in its library's own format). Anything else gets no plan, and `explain_plan` says why: it is
served by scikit-learn or its library.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from appliance.contracts.features import NUMERIC, Feature
from appliance.plans.forest import NODE_ARRAYS
from appliance.plans.plan import FORMAT, ScoringPlan
from appliance.plans.steps import StepData
from appliance.core.inputs import Inputs


def column_groups(model: Any, features: list[Feature]) -> tuple[list[tuple[Any, list[str]]], Any] | None:
    """For `Pipeline([ColumnTransformer, estimator])` over the features: ([(fitted transformer, its
    columns)], estimator); None for any other shape."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop" or preprocess.sparse_output_:
        return None
    names = {f.name for f in features}
    groups = []
    for _, transformer, columns in preprocess.transformers_:
        if transformer == "drop":
            continue
        if not isinstance(columns, list) or not set(columns) <= names or transformer == "passthrough":
            return None
        groups.append((transformer, list(columns)))
    return groups, estimator


def compile_plan(model: Any, features: list[Feature], task: str) -> ScoringPlan | None:
    return explain_plan(model, features, task)[0]


def explain_plan(model: Any, features: list[Feature], task: str) -> tuple[ScoringPlan | None, str]:
    """(plan, "") when the model has an array form, else (None, why not: shown by `vigil show`)."""
    from appliance.boosters.native import NativeBooster
    from appliance.plans.boosters import NoPlan, compile_booster

    try:
        if isinstance(model, NativeBooster):
            return _plan(native_groups(model), compile_booster(model, task, native=True), task), ""
        parts = column_groups(model, features)
        if parts is None:
            raise NoPlan("it is not Pipeline([ColumnTransformer, estimator]) over the spec's features")
        groups, estimator = parts
        numeric = {f.name for f in features if f.kind == NUMERIC}
        steps = [(_group_steps(transformer, set(columns) <= numeric), list(columns)) for transformer, columns in groups]
        if getattr(estimator, "feature_names_in_", None) is not None:
            raise NoPlan(f"its {type(estimator).__name__} was fitted on named columns")
        forest = _forest(estimator, task)
        if forest is None:
            raise NoPlan(f"its estimator {type(estimator).__name__} has no plan form for a {task} model")
        return _plan(steps, forest, task), ""
    except NoPlan as e:
        return None, str(e)


def _group_steps(transformer: Any, numeric: bool) -> list[StepData]:
    from appliance.plans.boosters import NoPlan

    found = []
    for step in [t for _, t in transformer.steps] if hasattr(transformer, "steps") else [transformer]:
        data = step_data(step)
        if data is None or (data[0]["kind"] == "passthrough" and not numeric):
            raise NoPlan(f"its step {type(step).__name__} has no array form{_why_not(step)}")
        found.append(data)
    return found


def _plan(groups: list[tuple[list[StepData], list[str]]], estimator: StepData, task: str) -> ScoringPlan:
    meta: dict[str, Any] = {"format": FORMAT, "task": task, "groups": [], "estimator": estimator[0]}
    arrays: dict[str, np.ndarray] = {f"e.{k}": v for k, v in estimator[1].items()}
    for group, (steps, columns) in enumerate(groups):
        for s, (_, data) in enumerate(steps):
            arrays.update({f"g{group}s{s}.{k}": v for k, v in data.items()})
        meta["groups"].append({"columns": list(columns), "steps": [spec for spec, _ in steps]})
    return ScoringPlan(meta, arrays)


def native_groups(model: Any) -> list[tuple[list[StepData], list[str]]]:
    """A NativeBooster's inputs as column groups in its order: runs of numbers passed through, runs of
    categories coded by position (unknown or missing: NaN), as `NativeBooster.matrix` does."""
    runs: list[tuple[str, list[str]]] = []
    for name, kind in model.inputs:
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(name)
        else:
            runs.append((kind, [name]))
    return [([_native_step(model, kind, names)], names) for kind, names in runs]


def _native_step(model: Any, kind: str, names: list[str]) -> StepData:
    from appliance.boosters.native import CATEGORICAL

    if kind != CATEGORICAL:
        return {"kind": "passthrough"}, {}
    return {"kind": "ordinal", "categories": [list(model.categories.get(n, [])) for n in names],
            "unknown": float("nan")}, {}


def answers_alike(plan: ScoringPlan | Any, model: Any, frame: pl.DataFrame, features: list[Feature],
                  task: str) -> bool:
    """True when `plan` (any Inputs → array callable) gives exactly the model's output on `frame`."""
    method = "predict_proba" if task == "binary" else "predict"
    try:
        expected = np.asarray(getattr(model, method)(frame))
        return bool(np.array_equal(np.asarray(plan(Inputs.from_polars(frame, features))), expected))
    except Exception:  # any doubt: the pipeline serves
        return False


def step_data(step: Any) -> StepData | None:
    """A fitted step as (spec, arrays), or None when it has no array form."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

    if isinstance(step, OneHotEncoder):
        return _onehot(step)
    if isinstance(step, SimpleImputer) and not step.add_indicator:
        return _imputer(step)
    if isinstance(step, StandardScaler):
        arrays = {}
        if step.with_mean:
            arrays["mean"] = np.asarray(step.mean_, dtype=np.float64)
        if step.with_std:
            arrays["scale"] = np.asarray(step.scale_, dtype=np.float64)
        return {"kind": "scale"}, arrays
    if isinstance(step, OrdinalEncoder) and not any(getattr(step, "infrequent_categories_", None) or []):
        if step.handle_unknown != "use_encoded_value" or any(c.dtype.kind != "O" for c in step.categories_):
            return None
        categories = [list(c) for c in step.categories_]
        missing = [bool(column) and _is_missing(column[-1]) for column in categories]
        categories = [column[:-1] if m else column for column, m in zip(categories, missing)]
        if not all(isinstance(v, str) for column in categories for v in column):
            return None
        spec = {"kind": "ordinal", "categories": categories, "unknown": float(step.unknown_value)}
        if any(missing):  # missing at fit: a missing value is coded `encoded_missing_value` there
            spec["missing"] = [float(step.encoded_missing_value) if m else spec["unknown"] for m in missing]
        return spec, {}
    if isinstance(step, FunctionTransformer) and step.func is None and not step.validate:
        return {"kind": "passthrough"}, {}  # what ColumnTransformer keeps for "passthrough"
    return None


def _why_not(step: Any) -> str:
    """What keeps a OneHotEncoder out of a plan (other steps: nothing more to say)."""
    from sklearn.preprocessing import OneHotEncoder

    if not isinstance(step, OneHotEncoder):
        return ""
    if step.handle_unknown == "error":
        return " (handle_unknown='error' refuses unseen categories; a plan would score them)"
    if np.dtype(step.dtype) != np.float64:
        return f" (it outputs {np.dtype(step.dtype)}; plans compute in float64)"
    return " (its categories are not all text, or its layout could not be read)"


def _onehot(encoder: Any) -> StepData | None:
    """A OneHotEncoder as, per column, each category's output column (-1: none, as for a dropped one),
    where an unseen and a missing value go, and the number of output columns. The columns are read
    from the encoder's own `transform` of each category, an unseen value and a missing one, so
    infrequent categories, `drop` and `handle_unknown` come out as scikit-learn lays them out."""
    import warnings

    if encoder.handle_unknown == "error" or np.dtype(encoder.dtype) != np.float64:
        return None
    if any(c.dtype.kind != "O" for c in encoder.categories_):
        return None
    known = [[v for v in column if not _is_missing(v)] for column in encoder.categories_]
    if not all(isinstance(v, str) for column in known for v in column):
        return None
    height = max([len(column) for column in known] + [1])
    probe = np.array([[column[i % len(column)] if column else None for column in known] for i in range(height)]
                     + [[_unseen(column) for column in known], [None] * len(known)], dtype=object)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unseen value with `drop` set: scikit-learn warns, then encodes
            out = encoder.transform(probe)
        bounds = np.concatenate([[0], np.cumsum(encoder._n_features_outs)]).astype(int)  # each column's block
    except Exception:  # another scikit-learn's internals, or an encoder that refuses these values: no plan
        return None
    out = np.asarray(out.toarray() if hasattr(out, "toarray") else out)
    columns, unknown, missing = [], [], []
    for j, column in enumerate(known):
        block = out[:, bounds[j]:bounds[j + 1]]
        where = [int(bounds[j] + np.argmax(r)) if r.any() else -1 for r in block]
        columns.append(where[:len(column)])
        unknown.append(where[height])
        missing.append(where[height + 1])
    return {"kind": "onehot", "categories": known, "columns": columns, "unknown": unknown, "missing": missing,
            "width": int(bounds[-1])}, {}


def _unseen(column: list[str]) -> str:
    value = "__vigil_unseen__"
    while value in column:
        value += "_"
    return value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _imputer(step: Any) -> StepData | None:
    statistics = step.statistics_
    nan_missing = isinstance(step.missing_values, float) and np.isnan(step.missing_values)
    if statistics.dtype.kind == "O":
        fill = list(statistics)
        if not all(isinstance(v, (str, int, float)) for v in fill):
            return None
        if step.missing_values is None:
            return {"kind": "impute_none", "fill": fill}, {}
        if nan_missing:
            return {"kind": "impute_nan_object", "fill": fill}, {}
        return None
    if nan_missing and statistics.dtype.kind == "f" and not np.isnan(statistics).any():
        # (columns all-missing at fit are dropped by scikit-learn: no plan for those)
        return {"kind": "impute_float"}, {"statistics": np.asarray(statistics, dtype=np.float64)}
    return None


def _forest(estimator: Any, task: str) -> StepData | None:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from appliance.plans.boosters import compile_booster, library_of
    from appliance.plans.linear import compile_linear
    from appliance.plans.random_forest import compile_random_forest

    if library_of(estimator) is not None:
        return compile_booster(estimator, task, native=False)
    for compile_estimator in (compile_linear, compile_random_forest):
        found = compile_estimator(estimator, task)
        if found is not None:
            return found
    classifier = isinstance(estimator, HistGradientBoostingClassifier)
    if not (classifier or isinstance(estimator, HistGradientBoostingRegressor)):
        return None
    if estimator.n_trees_per_iteration_ != 1 or classifier != (task == "binary"):
        return None
    link = {"LogitLink": "logit", "IdentityLink": "identity", "LogLink": "log"}.get(
        type(estimator._loss.link).__name__)
    if link is None:
        return None
    trees = [iteration[0] for iteration in estimator._predictors]
    sizes = np.array([len(t.nodes) for t in trees], dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    bitset_counts = np.array([len(t.raw_left_cat_bitsets) for t in trees], dtype=np.intp)
    bitset_offsets = np.concatenate([[0], np.cumsum(bitset_counts)[:-1]]).astype(np.intp)
    nodes = np.concatenate([t.nodes for t in trees])
    tree_of = np.repeat(np.arange(len(trees)), sizes)
    known_bitsets, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
    arrays = {
        "left": nodes["left"].astype(np.intp) + offsets[tree_of],
        "right": nodes["right"].astype(np.intp) + offsets[tree_of],
        "feature": nodes["feature_idx"].astype(np.intp),
        "threshold": nodes["num_threshold"].astype(np.float64),
        "missing_left": nodes["missing_go_to_left"].astype(bool),
        "is_leaf": nodes["is_leaf"].astype(bool),
        "is_categorical": nodes["is_categorical"].astype(bool),
        "bitset_index": nodes["bitset_idx"].astype(np.intp) + bitset_offsets[tree_of],
        "value": nodes["value"].astype(np.float64),
        "roots": offsets,
        "raw_bitsets": (np.concatenate([t.raw_left_cat_bitsets for t in trees]) if trees
                        else np.zeros((0, 8), dtype=np.uint32)).astype(np.uint32),
        "known_bitsets": np.asarray(known_bitsets, dtype=np.uint32),
        "feature_map": np.asarray(feature_map, dtype=np.intp),
        "baseline": np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)[:1],
        **_encoding(estimator),
    }
    assert set(NODE_ARRAYS) <= set(arrays)
    spec = {"kind": "hist_gradient_boosting", "link": link, "output": "proba" if classifier else "value",
            "depth": int(nodes["depth"].max()) + 1 if len(nodes) else 1}
    return spec, arrays


def _encoding(estimator: Any) -> dict[str, np.ndarray]:
    """The estimator's categorical re-encoding: which columns, and each one's known category codes."""
    preprocessor = getattr(estimator, "_preprocessor", None)
    if preprocessor is None:
        empty = np.zeros(0, dtype=np.intp)
        return {"categorical_columns": empty, "numeric_columns": empty, "known_values": np.zeros(0),
                "known_lengths": empty}
    mask = np.asarray(estimator.is_categorical_)
    encoder = preprocessor.named_transformers_["encoder"]
    known = [np.asarray(c, dtype=np.float64)[~np.isnan(np.asarray(c, dtype=np.float64))] for c in encoder.categories_]
    return {"categorical_columns": np.flatnonzero(mask).astype(np.intp),
            "numeric_columns": np.flatnonzero(~mask).astype(np.intp),
            "known_values": np.concatenate(known) if known else np.zeros(0),
            "known_lengths": np.array([len(k) for k in known], dtype=np.intp)}
