"""The portable plan's row checks read pandas and Arrow batches as `vigil score` reads Parquet."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from appliance.contracts.features import Feature
from appliance.plans import batch_columns
from appliance.plans.batch_checks import Policy, _number, check_rows

FEATURES = (Feature("distance", "numeric"), Feature("carrier", "categorical"))
CONTRACT = {"distance": {"kind": "numeric", "min": 10.0, "max": 3000.0},
            "carrier": {"kind": "categorical", "categories": ["AA", "B6"]}}


def _checked(frame: object, policy: Policy = Policy("reject", "flag")) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    found = check_rows(lambda name: batch_columns.read_column(frame, name), batch_columns.height(frame), FEATURES,
                       CONTRACT, policy)
    return found.reasons, found.flags


def test_text_numbers_are_read_as_the_parquet_reader_reads_them() -> None:
    cells = ["1e3", " 12 ", "1_000", "inf", "-Infinity", "nan", "0x10", "+5", ".5", "1,5", "", "١٢", "1e400", "\t7\n"]
    theirs = pl.Series(cells).str.strip_chars().cast(pl.Float64, strict=False).to_list()
    ours = [_number(cell) for cell in cells]
    assert [None if v is None else ("nan" if math.isnan(v) else v) for v in ours] == \
        [None if v is None else ("nan" if math.isnan(v) else v) for v in theirs]


def test_a_pandas_nan_is_missing_and_an_arrow_nan_is_not_finite() -> None:
    values = [100.0, float("nan"), None, 5.0, 4000.0]
    carriers = ["AA", "ZZ", None, "B6", "AA"]
    from_pandas = _checked(pd.DataFrame({"distance": values, "carrier": carriers}))
    from_arrow = _checked(pa.table({"distance": pa.array(values, pa.float64(), from_pandas=False),
                                    "carrier": carriers}))
    flagged = {3: ["out_of_range:distance"], 4: ["out_of_range:distance"]}
    assert from_pandas == ({1: ["unknown_category:carrier"]}, flagged)
    assert from_arrow == ({1: ["distance: not finite", "unknown_category:carrier"]}, flagged)
    mixed = _checked(pd.DataFrame({"distance": [100.0, 200.0], "carrier": ["AA", True]}))  # no Parquet type: refused
    assert mixed == ({0: ["carrier: not text, an integer or a boolean"],
                      1: ["carrier: not text, an integer or a boolean"]}, {})
    assert _checked(pa.table({"distance": [5.0], "carrier": ["AA"]}), Policy("reject", "reject"))[0] == \
        {0: ["out_of_range:distance"]}


def test_text_in_a_numeric_column_refuses_only_the_rows_that_are_no_number() -> None:
    reasons, flags = _checked(pa.table({"distance": ["120", "n/a", None, " 99999 "], "carrier": [1, 2, 3, 4]}))
    assert reasons == {0: ["unknown_category:carrier"], 1: ["distance: not a number", "unknown_category:carrier"],
                       2: ["unknown_category:carrier"], 3: ["unknown_category:carrier"]}
    assert flags == {}
    found = check_rows(lambda name: batch_columns.read_column(pa.table({"distance": ["120"], "carrier": ["AA"]}), name),
                       1, FEATURES, CONTRACT, Policy())
    assert found.inputs.numeric.tolist() == [[120.0]] and found.inputs.categorical.tolist() == [["AA"]]
    assert np.array_equal(found.accepted, [True])


def test_integers_are_a_category_s_digits() -> None:
    reasons, _ = _checked(pd.DataFrame({"distance": [100, 200], "carrier": pd.Series([7, None], dtype="Int64")}))
    assert reasons == {0: ["unknown_category:carrier"]}  # 7 is "7"; a missing value is no problem of a row
