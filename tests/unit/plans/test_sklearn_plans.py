"""scikit-learn pipelines with one-hot encoding, linear models and random forests compile to plans that
answer bit for bit as scikit-learn, trained by Vigil or built by hand in other arrangements, on
thousands of real flights with missing values and unseen categories; what cannot compile says why."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import features_from, model_input
from appliance.plans.compile import explain_plan
from appliance.plans.plan import ScoringPlan
from appliance.plans.trees import ROW_BY_ROW
from appliance.core.inputs import Inputs
from appliance.training.pipeline import build_pipeline
from tests.unit.plans.test_booster_plans import CATEGORICAL, NUMERIC, _later, _spec, _training

# scikit-learn warns when a OneHotEncoder with `drop` meets an unseen category (and encodes it as zeros)
pytestmark = pytest.mark.filterwarnings("ignore:Found unknown categories:UserWarning")


def _assert_answers_as(plan: ScoringPlan, model: Any, frame: pl.DataFrame, features: list[Any], task: str) -> None:
    """The stored plan answers every frame exactly as the model answers that same frame. (scikit-learn's
    linear models multiply through BLAS, whose last bit for a row can depend on how many rows share the
    call: so each slice is compared with the model's answer for that slice, as a request would be.)"""
    def library(part: pl.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_proba(part) if task == "binary" else model.predict(part))

    stored = ScoringPlan.from_bytes(plan.to_bytes())
    expected, got = library(frame), stored(Inputs.from_polars(frame, features))
    assert got.shape == expected.shape and got.dtype == np.float64
    assert np.array_equal(got, expected), float(np.abs(got - expected).max())
    for size in (1, 2, ROW_BY_ROW, ROW_BY_ROW + 1):
        for start in [*range(0, 300, 23), frame.height - 8, frame.height - 4]:
            part = frame.slice(start, size)
            assert np.array_equal(stored(Inputs.from_polars(part, features)), library(part)), (size, start)


def _vigil_model(kind: str, task: str, params: dict[str, Any] | None = None) -> tuple[Any, list[Any]]:
    spec = _spec(task, kind, CATEGORICAL)
    features = features_from(spec.features.numeric, spec.features.categorical)
    data, y = _training(task)
    model = build_pipeline(spec, features)
    model.set_params(**{f"estimator__{k}": v for k, v in (params or {}).items()})
    return model.fit(model_input(data, features), y), features


@pytest.mark.parametrize("kind,task,params", [
    ("logistic_regression", "binary", {}), ("linear_regression", "regression", {}),
    ("random_forest", "binary", {"n_estimators": 15}), ("random_forest", "regression", {"n_estimators": 15}),
    ("random_forest", "binary", {"n_estimators": 30, "max_depth": 5}),  # small trees: the one-row bit walk
])
def test_a_trained_pipeline_s_plan_answers_as_scikit_learn(kind: str, task: str, params: dict[str, Any]) -> None:
    model, features = _vigil_model(kind, task, params)
    encoder = model[0].named_transformers_["categorical"][-1]
    assert any(c is not None and len(c) for c in encoder.infrequent_categories_)  # infrequent ones are covered
    plan, why = explain_plan(model, features, task)
    assert plan is not None, why
    assert plan.meta["estimator"]["kind"] == ("linear" if "linear" in kind or "logistic" in kind else kind)
    assert [s["kind"] for s in plan.meta["groups"][1]["steps"]] == ["impute_none", "onehot"]
    _assert_answers_as(plan, model, _later(features), features, task)


def _imported(estimator: Any, categorical_missing: bool) -> tuple[Any, list[Any], pl.DataFrame]:
    """A pipeline arranged as a team might write it: a Pipeline per ColumnTransformer branch, one-hot
    encoding with `drop` and infrequent categories, ordinal encoding, numbers left unscaled."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    features = features_from(NUMERIC, CATEGORICAL)
    data, y = _training("binary" if hasattr(estimator, "predict_proba") else "regression")
    frame = model_input(data, features)
    if categorical_missing:  # missing categories seen in fitting: None is a category of its own
        frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 9 == 0).then(None).otherwise(pl.col("origin"))
                                   .alias("origin"))
    preprocess = ColumnTransformer([
        ("scaled", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]),
         ["distance", "temp"]),
        ("raw", SimpleImputer(strategy="median"), ["visib", "sched_dep_time"]),
        ("carrier", Pipeline([("impute", SimpleImputer(missing_values=None, strategy="most_frequent")),
                              ("encode", OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False))]),
         ["carrier"]),
        ("origin", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=2, drop="if_binary",
                                 sparse_output=False), ["origin"]),
        ("dest", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["dest"]),
    ])
    return Pipeline([("preprocess", preprocess), ("model", estimator)]).fit(frame, y), features, frame


@pytest.mark.parametrize("which", ["logistic", "linear", "forest"])
@pytest.mark.parametrize("categorical_missing", [False, True])
def test_an_imported_pipeline_in_another_arrangement_compiles(which: str, categorical_missing: bool) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression

    estimator = {"logistic": LogisticRegression(C=0.3, solver="newton-cholesky"), "linear": LinearRegression(),
                 "forest": RandomForestClassifier(n_estimators=10, random_state=1)}[which]
    task = "regression" if which == "linear" else "binary"
    model, features, _ = _imported(estimator, categorical_missing)
    plan, why = explain_plan(model, features, task)
    assert plan is not None, why
    kinds = [[s["kind"] for s in g["steps"]] for g in plan.meta["groups"]]
    assert kinds == [["impute_float", "scale"], ["impute_float"], ["impute_none", "onehot"], ["onehot"], ["ordinal"]]
    origin = plan.meta["groups"][3]["steps"][0]
    assert origin["unknown"][0] >= 0  # unseen origins go to the infrequent column
    _assert_answers_as(plan, model, _later(features), features, task)


def test_what_cannot_compile_says_why() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    features = features_from(NUMERIC, CATEGORICAL)
    data, y = _training("binary")
    frame = model_input(data, features)
    strict = Pipeline([("p", ColumnTransformer([("c", OneHotEncoder(sparse_output=False), CATEGORICAL)])),
                       ("m", LogisticRegression(max_iter=300))]).fit(frame, y)
    plan, why = explain_plan(strict, features, "binary")
    assert plan is None and "OneHotEncoder" in why and "handle_unknown='error'" in why
    three = np.asarray(data["arr_delay"].fill_null(0).to_numpy() // 30).clip(0, 2)
    multiclass = build_pipeline(_spec("binary", "logistic_regression", CATEGORICAL), features).fit(frame, three)
    plan, why = explain_plan(multiclass, features, "binary")
    assert plan is None and "3 classes" in why
    forest, _ = _vigil_model("random_forest", "binary", {"n_estimators": 4, "n_jobs": 2})
    plan, why = explain_plan(forest, features, "binary")
    assert plan is None and "n_jobs=2" in why


def test_a_plan_naming_an_estimator_this_code_cannot_run_is_refused_when_read() -> None:
    model, features = _vigil_model("logistic_regression", "binary")
    plan, why = explain_plan(model, features, "binary")
    assert plan is not None, why
    assert ScoringPlan.from_bytes(plan.to_bytes()).meta == plan.meta
    future = ScoringPlan({**plan.meta, "estimator": {**plan.meta["estimator"], "kind": "neural_net"}}, plan.arrays)
    with pytest.raises(ValueError, match="neural_net"):
        ScoringPlan.from_bytes(future.to_bytes())  # `find_plan` then reports no plan: recompiled from the artifact
