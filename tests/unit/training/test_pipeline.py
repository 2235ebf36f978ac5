"""appliance/training/pipeline.py: estimator parameters are checked; every estimator kind fits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import features_from, model_input
from appliance.errors import SpecError
from appliance.training.pipeline import MISSING_CATEGORY, build_pipeline
from appliance.training.spec import TrainingSpec, parse_spec

FEATURES = features_from(["a"], ["c"])


def spec(kind: str, task: str = "binary", params: str = "{}") -> TrainingSpec:
    return parse_spec(f"""\
model = "m"
task = "{task}"
target = "y"
seed = 3
[source]
path = "d.parquet"
[features]
numeric = ["a"]
categorical = ["c"]
[split]
time_column = "t"
[estimator]
kind = "{kind}"
params = {params}
""").spec


def tiny_frame() -> pl.DataFrame:
    """60 rows where y is 1 exactly when a > 0, and r = 2a + 1 (+3 for category 'q')."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=60)
    c = np.array(["p", "q", "r"] * 20)
    return pl.DataFrame({"a": a, "c": c, "y": (a > 0).astype(int), "r": 2 * a + 1 + 3 * (c == "q")})


def test_unknown_parameter_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(SpecError) as error:
        build_pipeline(spec("random_forest", params="{ n_trees = 10 }"), FEATURES)
    message = str(error.value)
    assert message.startswith("estimator.params ['n_trees'] are not parameters of RandomForestClassifier")
    assert "allowed: " in message and "n_estimators" in message and "max_depth" in message


def test_invalid_parameter_value() -> None:
    with pytest.raises(SpecError, match=r"^estimator.params: .*max_iter") as error:
        build_pipeline(spec("hist_gradient_boosting", params="{ max_iter = -1 }"), FEATURES)
    assert "must be an int in the range [1, inf)" in str(error.value)


def test_hist_gradient_boosting_classifier() -> None:
    data = tiny_frame()
    model = build_pipeline(spec("hist_gradient_boosting", params="{ max_iter = 20, min_samples_leaf = 3 }"),
                           FEATURES)
    estimator = model.named_steps["estimator"]
    assert type(estimator).__name__ == "HistGradientBoostingClassifier"
    assert (estimator.random_state, estimator.categorical_features) == (3, [1])
    model.fit(model_input(data, FEATURES), data["y"].to_numpy())
    assert np.mean(model.predict(model_input(data, FEATURES)) == data["y"].to_numpy()) >= 0.95


def test_logistic_regression_classifier() -> None:
    data = tiny_frame()
    model = build_pipeline(spec("logistic_regression", params="{ C = 100.0 }"), FEATURES)
    model.fit(model_input(data, FEATURES), data["y"].to_numpy())
    estimator = model.named_steps["estimator"]
    assert (type(estimator).__name__, estimator.max_iter, estimator.C) == ("LogisticRegression", 1000, 100.0)
    assert model.predict(model_input(data, FEATURES)).tolist() == data["y"].to_list()


def test_linear_regression_recovers_the_line() -> None:
    data = tiny_frame()
    model = build_pipeline(spec("linear_regression", task="regression"), FEATURES)
    model.fit(model_input(data, FEATURES), data["r"].to_numpy())
    assert type(model.named_steps["estimator"]).__name__ == "LinearRegression"
    np.testing.assert_allclose(model.predict(model_input(data, FEATURES)), data["r"].to_numpy(), atol=1e-9)


def test_random_forest_regressor() -> None:
    data = tiny_frame()
    model = build_pipeline(spec("random_forest", task="regression", params="{ n_estimators = 20 }"), FEATURES)
    model.fit(model_input(data, FEATURES), data["r"].to_numpy())
    estimator = model.named_steps["estimator"]
    assert (type(estimator).__name__, estimator.random_state, estimator.n_jobs) == ("RandomForestRegressor", 3, 1)
    residual = model.predict(model_input(data, FEATURES)) - data["r"].to_numpy()
    assert float(np.sqrt(np.mean(residual**2))) < 0.5


def test_missing_categories_are_imputed_as_the_missing_marker() -> None:
    data = pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0] * 3, "c": ["p", "q", None, "p"] * 3, "y": [0, 1, 1, 0] * 3})
    model = build_pipeline(spec("logistic_regression"), FEATURES)
    model.fit(model_input(data, FEATURES), data["y"].to_numpy())
    encoder = model.named_steps["preprocess"].named_transformers_["categorical"].named_steps["encode"]
    assert encoder.categories_[0].tolist() == [MISSING_CATEGORY, "p", "q"]
