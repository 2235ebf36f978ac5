"""XGBoost, LightGBM and CatBoost plans answer bit for bit as their library, trained by Vigil or imported
in the library's own format, on thousands of real flights with missing values and unseen categories;
a model without an array form says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from appliance.contracts.features import features_from, model_input
from appliance.plans.compile import explain_plan
from appliance.plans.plan import ScoringPlan
from appliance.plans.trees import ROW_BY_ROW
from appliance.core.inputs import Inputs
from appliance.training.pipeline import build_pipeline, fit_params
from appliance.training.spec import parse_spec

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "flights.parquet"
NUMERIC = ["distance", "temp", "visib", "sched_dep_time"]
CATEGORICAL = ["carrier", "origin", "dest"]
SPEC = """
model = "m"
task = "{task}"
target = "{target}"
[source]
path = "x.parquet"
[features]
numeric = {numeric}
categorical = {categorical}
[split]
time_column = "time_hour"
[estimator]
kind = "{kind}"
params = {params}
"""
PARAMS = {"xgboost": "{ n_estimators = 60, max_depth = 5 }", "lightgbm": "{ n_estimators = 60, num_leaves = 24 }",
          "catboost": "{ iterations = 60, depth = 5 }"}


def _spec(task: str, kind: str, categorical: list[str]) -> Any:
    target = "delayed" if task == "binary" else "arr_delay"
    text = SPEC.format(task=task, target=target, kind=kind, params=PARAMS.get(kind, "{}"),
                       numeric=NUMERIC, categorical=categorical).replace("'", '"')
    return parse_spec(text).spec


def _training(task: str) -> tuple[pl.DataFrame, np.ndarray]:
    data = pl.read_parquet(SAMPLE).filter(pl.col("month") == 2).head(4000)
    data = data.with_columns(  # February's weather is complete: some missing temperatures to learn from
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("temp")).alias("temp"))
    if task == "regression":
        data = data.filter(pl.col("arr_delay").is_not_null())
        return data, data["arr_delay"].to_numpy().astype(float)
    return data, data["delayed"].cast(pl.Int8).to_numpy()


def _later(features: list[Any]) -> pl.DataFrame:
    """5,000 later flights (some destinations unseen in February), plus rows with missing numbers,
    missing categories and categories no model has seen, and a zero where one can be read as missing."""
    later = model_input(pl.read_parquet(SAMPLE).filter(pl.col("month") >= 11).head(5000), features)
    odd = later.head(8).with_columns(pl.Series("temp", [None, 0.0, None, 40.0, None, -0.0, 1e-36, None],
                                               dtype=pl.Float64),
                                     pl.Series("distance", [None, None, 17.0, None, 0.0, 500.0, None, None],
                                               dtype=pl.Float64))
    for name in [f.name for f in features if f.kind == "categorical"]:
        odd = odd.with_columns(pl.Series(name, ["NOWHERE", None, "ALSO_NEW", later[name][3], None, "X", None, "Y"]))
    assert later["temp"].null_count() > 0
    return pl.concat([later, odd])


def _assert_answers_as(plan: ScoringPlan, model: Any, frame: pl.DataFrame, features: list[Any], task: str) -> None:
    expected = np.asarray(model.predict_proba(frame) if task == "binary" else model.predict(frame))
    stored = ScoringPlan.from_bytes(plan.to_bytes())  # as served: read back from its file
    got = stored(Inputs.from_polars(frame, features))
    assert got.shape == expected.shape and got.dtype == np.float64
    assert np.array_equal(got, expected), float(np.abs(got - expected).max())
    for size in (1, 2, ROW_BY_ROW, ROW_BY_ROW + 1):  # one row at a time, and the level walk, around the switch
        for start in [*range(0, 300, 23), frame.height - 8, frame.height - 4]:
            part = stored(Inputs.from_polars(frame.slice(start, size), features))
            assert np.array_equal(part, expected[start:start + size]), (size, start)


CASES = [("xgboost", "binary", CATEGORICAL), ("xgboost", "regression", CATEGORICAL),
         ("lightgbm", "binary", CATEGORICAL), ("lightgbm", "regression", CATEGORICAL),
         ("catboost", "binary", []), ("catboost", "regression", [])]


EXTRA = [("xgboost", "binary", CATEGORICAL, {"n_estimators": 30, "max_depth": 9}),  # trees over 64 leaves
         ("lightgbm", "regression", CATEGORICAL, {"n_estimators": 30, "zero_as_missing": True}),  # zero is missing
         ("lightgbm", "binary", [], {"n_estimators": 30, "use_missing": False}),  # NaN read as zero
         ("catboost", "binary", [], {"iterations": 30, "nan_mode": "Max"})]  # NaN above every border


@pytest.mark.parametrize("kind,task,categorical,settings", [(*case, {}) for case in CASES] + EXTRA)
def test_a_trained_pipeline_s_plan_answers_as_its_library(kind: str, task: str, categorical: list[str],
                                                          settings: dict[str, Any]) -> None:
    spec = _spec(task, kind, categorical)
    features = features_from(spec.features.numeric, spec.features.categorical)
    data, y = _training(task)
    model = build_pipeline(spec, features)
    model.set_params(**{f"estimator__{k}": v for k, v in settings.items()})
    model.fit(model_input(data, features), y, **fit_params(spec, features))
    plan, why = explain_plan(model, features, task)
    assert plan is not None, why
    assert plan.meta["estimator"]["library"] == kind
    _assert_covers(plan, settings)
    _assert_answers_as(plan, model, _later(features), features, task)


def _assert_covers(plan: ScoringPlan, settings: dict[str, Any]) -> None:
    """The case exercises what it is there for."""
    from appliance.plans.leaf_bits import _bit_layout, bit_walk, feature_walk, oblivious_walk

    arrays = plan._prefixed("e.")
    internal = ~arrays["is_leaf"]
    # which one-row walk serves: each is checked against the library by `_assert_answers_as`
    if settings.get("max_depth") == 9:
        assert _bit_layout(arrays) is None  # trees over 64 leaves: level by level
    elif settings.get("zero_as_missing"):
        assert feature_walk(arrays, np.asarray) is None and bit_walk(arrays, np.asarray) is not None
    elif plan.meta["estimator"]["library"] == "catboost":
        assert oblivious_walk(arrays, np.asarray) is not None
    else:
        assert feature_walk(arrays, np.asarray) is not None
    if settings.get("zero_as_missing"):
        assert arrays["zero_missing"][internal].any()
    if settings.get("use_missing") is False:
        assert np.array_equal(arrays["nan_left"][internal], 0.0 <= arrays["threshold"][internal])
    if settings.get("nan_mode") == "Max":
        assert not arrays["nan_left"][internal].all()


def _pandas(frame: pl.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(frame.select(NUMERIC + categorical).to_dict(as_series=False))
    for name in categorical:
        out[name] = out[name].astype("category")
    return out


def _native(library: str, task: str, categorical: list[str], folder: Path) -> tuple[str, bytes]:
    """A model trained by the library's own users' code (pandas categories), saved in its own format."""
    data, y = _training(task)
    inputs = _pandas(data, categorical)
    binary = task == "binary"
    if library == "xgboost":
        import xgboost

        cls = xgboost.XGBClassifier if binary else xgboost.XGBRegressor
        model = cls(n_estimators=60, max_depth=5, enable_categorical=True, tree_method="hist", n_jobs=1,
                    random_state=0).fit(inputs, y)
        path = folder / "model.ubj"
        model.get_booster().save_model(path)
    elif library == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if binary else lightgbm.LGBMRegressor
        model = cls(n_estimators=60, num_leaves=24, n_jobs=1, verbose=-1, random_state=0).fit(inputs, y)
        path = folder / "model.txt"
        model.booster_.save_model(path)
    else:
        import catboost

        cls = catboost.CatBoostClassifier if binary else catboost.CatBoostRegressor
        text = inputs.assign(**{c: inputs[c].astype(str) for c in categorical})
        model = cls(iterations=60, depth=5, thread_count=1, verbose=0, random_seed=0, allow_writing_files=False,
                    cat_features=categorical or None).fit(text, y)
        path = folder / "model.cbm"
        model.save_model(str(path))
    return path.name, path.read_bytes()


@pytest.mark.parametrize("library,task,categorical", CASES)
def test_an_imported_model_s_plan_answers_as_its_library(library: str, task: str, categorical: list[str],
                                                         tmp_path: Path) -> None:
    from appliance.boosters.files import read_native

    spec = _spec(task, "hist_gradient_boosting", categorical)
    booster = read_native(*_native(library, task, categorical, tmp_path), spec)
    features = features_from(spec.features.numeric, spec.features.categorical)
    plan, why = explain_plan(booster, features, task)
    assert plan is not None, why
    assert plan.meta["estimator"]["library"] == library
    _assert_answers_as(plan, booster, _later(features), features, task)


def test_catboost_with_categorical_features_says_why_it_has_no_plan(tmp_path: Path) -> None:
    from appliance.boosters.files import read_native

    spec = _spec("binary", "catboost", ["carrier", "origin"])
    features = features_from(spec.features.numeric, spec.features.categorical)
    data, y = _training("binary")
    trained = build_pipeline(spec, features).fit(model_input(data, features), y, **fit_params(spec, features))
    imported = read_native(*_native("catboost", "binary", ["carrier", "origin"], tmp_path), spec)
    for model in (trained, imported):
        plan, why = explain_plan(model, features, "binary")
        assert plan is None and "CatBoost" in why and "CTR" in why


def test_objectives_and_tasks_without_an_array_form_say_why() -> None:
    import xgboost

    spec = _spec("regression", "xgboost", CATEGORICAL)
    features = features_from(spec.features.numeric, spec.features.categorical)
    data, y = _training("regression")
    poisson = build_pipeline(spec, features)
    poisson.set_params(estimator__objective="count:poisson")
    poisson.fit(model_input(data, features), np.clip(y, 0, None))
    plan, why = explain_plan(poisson, features, "regression")
    assert plan is None and "count:poisson" in why
    classifier = build_pipeline(_spec("binary", "xgboost", CATEGORICAL), features)
    classifier.fit(model_input(data, features), (y > 15).astype(int))
    plan, why = explain_plan(classifier, features, "regression")  # a classifier is never a regression plan
    assert plan is None and "regression" in why
    assert isinstance(classifier.steps[1][1], xgboost.XGBClassifier)
