"""The fast path gives exactly the pipeline's output, or is not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from appliance.contracts.contract import infer_contract
from appliance.contracts.features import features_from, model_input
from appliance.serving.fast_path import compile_pipeline
from appliance.core.inputs import Inputs
from appliance.training.pipeline import build_pipeline
from appliance.training.spec import parse_spec

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "flights.parquet"
SPEC = """
model = "m"
task = "{task}"
target = "{target}"
[source]
path = "x.parquet"
[features]
numeric = ["distance", "temp", "visib"]
categorical = ["carrier", "origin", "dest"]
[split]
time_column = "time_hour"
[estimator]
kind = "{kind}"
params = {params}
"""


@pytest.mark.parametrize("task,target,kind,params", [
    ("binary", "delayed", "hist_gradient_boosting", "{ max_iter = 20 }"),
    ("binary", "delayed", "logistic_regression", "{}"),
    ("regression", "arr_delay", "random_forest", "{ n_estimators = 5 }"),
    ("regression", "arr_delay", "hist_gradient_boosting", "{ max_iter = 20 }"),
])
def test_fast_path_equals_the_pipeline(task: str, target: str, kind: str, params: str) -> None:
    spec = parse_spec(SPEC.format(task=task, target=target, kind=kind, params=params)).spec
    features = features_from(spec.features.numeric, spec.features.categorical)
    data = pl.read_parquet(SAMPLE).filter(pl.col("month") == 2).head(3000)
    inputs = model_input(data, features)
    y = data[target].to_numpy().astype(float) if task == "regression" else data[target].cast(pl.Int8).to_numpy()
    model = build_pipeline(spec, features).fit(inputs, y)
    fast = compile_pipeline(model, features, infer_contract(inputs, features), task)
    assert fast is not None
    later = model_input(pl.read_parquet(SAMPLE).filter(pl.col("month") >= 11).head(3000), features)
    assert later["temp"].null_count() > 0  # missing numbers are imputed by the fast path too
    assert not set(later["dest"].drop_nulls()) <= set(inputs["dest"].drop_nulls())  # and unseen categories
    expected = model.predict_proba(later) if task == "binary" else model.predict(later)
    assert np.array_equal(fast(Inputs.from_polars(later, features)), expected)


def test_models_of_other_shapes_are_served_as_they_are() -> None:
    features = features_from(["a"], [])
    frame = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])
    assert compile_pipeline(model, features, infer_contract(frame, features), "binary") is None
