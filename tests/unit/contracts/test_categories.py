"""appliance/contracts/categories.py: one rule for how a value becomes a category's text, by value and by
column, and every converter agreeing with it."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from appliance.contracts import rules
from appliance.contracts.categories import category_series, category_text, label_text
from appliance.contracts.contract import infer_contract
from appliance.contracts.features import features_from, model_input
from appliance.serving.request_frame import Policy, build_frame, columns_from_records


@pytest.mark.parametrize("value, text", [
    (True, "true"), (False, "false"), (np.bool_(True), "true"), (7, "7"), (-3, "-3"), (np.int64(7), "7"),
    ("AA", "AA"), (np.str_("AA"), "AA"), ("", ""), (1.0, None), (np.float64(2.0), None), (None, None),
    ({}, None), ([1], None),
])
def test_category_text(value: Any, text: str | None) -> None:
    assert category_text(value) == text


def test_labels_fall_back_to_python_text() -> None:
    assert [label_text(v) for v in (True, 3, "yes", 1.5)] == ["true", "3", "yes", "1.5"]


@pytest.mark.parametrize("values, dtype", [
    ([True, False, None], pl.Boolean), ([10, 2, None, -1], pl.Int64), ([3, None], pl.UInt8),
    (["a", None, "B"], pl.String), (["x", "y", None], pl.Categorical),
])
def test_a_column_converts_as_its_values_do(values: list[Any], dtype: pl.DataType) -> None:
    series = pl.Series("c", values, dtype=dtype)
    assert category_series(series).to_list() == [category_text(v) for v in values]


def test_training_inference_model_input_and_serving_agree() -> None:
    training = pl.DataFrame({"x": [1.0, 2.0], "flag": [True, False], "k": [7, 10]})
    features = features_from(["x"], ["flag", "k"])
    contract = infer_contract(training, features)
    assert contract.columns["flag"].categories == ["false", "true"]  # type: ignore[union-attr]
    assert contract.columns["k"].categories == ["10", "7"]  # type: ignore[union-attr]
    served = build_frame(columns_from_records(training.to_dicts(), features), features, contract,
                         Policy("reject", "reject"), max_rows=10)
    assert served.flags == [[], []]  # JSON true and 7 are the categories training saw
    assert served.inputs.categorical.tolist() == [list(row) for row in model_input(training, features).select("flag", "k").rows()]
    assert [rules.read_category(v)[0] for v in (True, 7, "7")] == ["true", "7", "7"]
