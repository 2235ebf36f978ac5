"""appliance/training/spec.py: a valid spec parses; each bad one is a SpecError naming the field."""

from __future__ import annotations

from datetime import datetime

import pytest

from appliance.errors import SpecError
from appliance.training.spec import parse_spec

VALID = """\
model = "flight_delay"
task = "binary"
target = "delayed"
positive_class = true
seed = 42
[source]
path = "flights.parquet"
[features]
numeric = ["distance"]
categorical = ["carrier"]
segments = ["origin"]
[split]
time_column = "time_hour"
[estimator]
kind = "hist_gradient_boosting"
params = { max_iter = 200 }
"""


def parse_error(text: str) -> str:
    with pytest.raises(SpecError) as error:
        parse_spec(text, source="spec.toml")
    return str(error.value)


def test_valid_spec() -> None:
    loaded = parse_spec(VALID, source="spec.toml")
    spec = loaded.spec
    assert (spec.model, spec.task, spec.target, spec.positive_class, spec.seed) == (
        "flight_delay", "binary", "delayed", True, 42)
    assert spec.source.path == "flights.parquet" and spec.source.query is None
    assert spec.feature_names == ["distance", "carrier"]
    assert spec.features.segments == ["origin"] and spec.features.max_missing_rate == 0.5
    assert spec.estimator.params == {"max_iter": 200}
    assert spec.threshold == 0.5
    assert loaded.text == VALID and len(loaded.sha256) == 64


def test_split_fraction_defaults_to_a_fifth() -> None:
    split = parse_spec(VALID).spec.split
    assert (split.holdout_fraction, split.holdout_start, split.fraction) == (None, None, 0.2)
    with_start = parse_spec(VALID.replace('time_column = "time_hour"',
                                          'time_column = "time_hour"\nholdout_start = 2013-06-01T00:00:00'))
    assert with_start.spec.split.holdout_start == datetime(2013, 6, 1)
    assert with_start.spec.split.fraction is None
    with_fraction = parse_spec(VALID.replace('time_column = "time_hour"',
                                             'time_column = "time_hour"\nholdout_fraction = 0.3'))
    assert with_fraction.spec.split.fraction == 0.3


def test_unknown_key_is_named() -> None:
    assert parse_error(VALID.replace("seed = 42", "seed = 42\nsede = 1")) == "spec.toml: 'sede': unknown key"
    assert "'estimator.parms': unknown key" in parse_error(VALID.replace("params =", "parms ="))


def test_source_needs_exactly_one_of_path_and_query() -> None:
    both = VALID.replace('path = "flights.parquet"', 'path = "flights.parquet"\nquery = "SELECT 1"')
    neither = VALID.replace('path = "flights.parquet"', "")
    for text in (both, neither):
        message = parse_error(text)
        assert "'source'" in message and "give exactly one of 'path' or 'query'" in message
    assert "path must be a .parquet, .pq, .csv or .csv.gz file" in parse_error(VALID.replace(".parquet", ".json"))


def test_bad_model_name() -> None:
    message = parse_error(VALID.replace('model = "flight_delay"', 'model = "Flight Delay"'))
    assert "'model'" in message and "lower-case letters" in message


def test_target_listed_as_feature() -> None:
    message = parse_error(VALID.replace('numeric = ["distance"]', 'numeric = ["distance", "delayed"]'))
    assert "target 'delayed' is also listed as a feature" in message


def test_feature_listed_twice() -> None:
    message = parse_error(VALID.replace('categorical = ["carrier"]', 'categorical = ["carrier", "distance"]'))
    assert "'features'" in message and "features listed twice: ['distance']" in message


def test_estimator_must_fit_the_task() -> None:
    regression = VALID.replace('task = "binary"', 'task = "regression"').replace("positive_class = true\n", "")
    message = parse_error(regression.replace('"hist_gradient_boosting"', '"logistic_regression"'))
    assert "estimator 'logistic_regression' is for task 'binary'" in message
    message = parse_error(VALID.replace('"hist_gradient_boosting"', '"linear_regression"'))
    assert "estimator 'linear_regression' is for task 'regression'" in message
    assert "'estimator.kind'" in parse_error(VALID.replace('"hist_gradient_boosting"', '"tensorflow"'))


def test_invalid_toml() -> None:
    assert parse_error(VALID + "[split\n").startswith("spec.toml is not valid TOML (")


def test_holdout_fraction_and_start_together() -> None:
    text = VALID.replace('time_column = "time_hour"',
                         'time_column = "time_hour"\nholdout_fraction = 0.2\nholdout_start = 2013-06-01T00:00:00')
    message = parse_error(text)
    assert "'split'" in message and "give one of 'holdout_fraction' or 'holdout_start'" in message
    assert "'split.holdout_fraction'" in parse_error(VALID.replace('time_column = "time_hour"',
                                                                   'time_column = "time_hour"\nholdout_fraction = 1.5'))
