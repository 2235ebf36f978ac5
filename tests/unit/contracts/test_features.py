"""appliance/contracts/features.py: the one conversion from a frame to model input."""

from __future__ import annotations

import polars as pl

from appliance.contracts.features import (
    CATEGORICAL,
    NUMERIC,
    Feature,
    features_from,
    features_from_json,
    is_categorical_dtype,
    model_input,
)


def test_features_from_lists_numeric_then_categorical() -> None:
    features = features_from(["a", "b"], ["c"])
    assert features == [Feature("a", NUMERIC), Feature("b", NUMERIC), Feature("c", CATEGORICAL)]
    assert features_from_json([f.as_dict() for f in features]) == features


def test_model_input_orders_and_casts_columns() -> None:
    frame = pl.DataFrame({
        "flag": [True, False, None],
        "extra": ["dropped", "dropped", "dropped"],
        "code": [10, 2, None],
        "distance": [1, 2, 3],
    })
    features = features_from(["distance"], ["code", "flag"])
    inputs = model_input(frame, features)
    assert inputs.schema == pl.Schema({"distance": pl.Float64, "code": pl.String, "flag": pl.String})
    assert inputs.to_dict(as_series=False) == {
        "distance": [1.0, 2.0, 3.0],
        "code": ["10", "2", None],
        "flag": ["true", "false", None],
    }


def test_categorical_dtypes() -> None:
    assert [is_categorical_dtype(d) for d in (pl.String, pl.Boolean, pl.Int64, pl.UInt8, pl.Float64)] == [
        True, True, True, True, False,
    ]
