"""Inputs: arrays in, the same frame, rows and batches out."""

from __future__ import annotations

import polars as pl

from appliance.contracts.features import Feature
from appliance.core.inputs import Inputs

FEATURES = [Feature("a", "numeric"), Feature("c", "categorical"), Feature("b", "numeric")]


def test_round_trip_keeps_order_types_and_missing_values() -> None:
    frame = pl.DataFrame({"a": [1.0, None], "c": ["x", None], "b": [3.5, 4.0]})
    inputs = Inputs.from_polars(frame, FEATURES)
    assert inputs.height == 2 and inputs.names == ["a", "c", "b"]
    assert inputs.to_polars().equals(frame)
    assert inputs.rows() == [(1.0, "x", 3.5), (None, None, 4.0)]
    assert inputs.columns(["b", "a"]).tolist()[0] == [3.5, 1.0]
    assert inputs.columns(["c"]).tolist() == [["x"], [None]]
    both = Inputs.concat([inputs, inputs])
    assert both.height == 4 and both.rows()[2] == (1.0, "x", 3.5)
