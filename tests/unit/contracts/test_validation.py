"""appliance/contracts/validation.py: one report with every violation kind."""

from __future__ import annotations

import polars as pl

from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn, infer_contract
from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature, features_from
from appliance.contracts.validation import Violation, validate_frame

CONTRACT = Contract(columns={
    "distance": NumericColumn(min=0.0, max=100.0, max_missing_rate=0.1),
    "carrier": CategoricalColumn(categories=["AA", "UA"], max_missing_rate=0.1),
    "flag": CategoricalColumn(categories=["false", "true"], max_missing_rate=0.1),
})


def good_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "distance": [0.0, 50.0, 100.0, 20.0],
        "carrier": ["AA", "UA", "AA", "UA"],
        "flag": [True, False, True, True],
    })


def by_kind(frame: pl.DataFrame, contract: Contract = CONTRACT) -> dict[str, Violation]:
    report = validate_frame(frame, contract)
    return {v.kind: v for v in report.violations}


def test_frame_within_the_contract_is_ok() -> None:
    report = validate_frame(good_frame(), CONTRACT)
    assert report.ok and report.row_count == 4
    assert report.as_dict() == {"ok": True, "row_count": 4, "violations": []}
    assert report.summary() == ""


def test_training_frame_satisfies_its_inferred_contract() -> None:
    frame = pl.DataFrame({
        "x": [1.5, None, -3.0, 8.25, 2.0],
        "k": [3, 1, 2, 3, 1],
        "c": ["p", "q", None, "p", "r"],
        "b": [True, None, False, True, True],
    })
    features = features_from(["x"], ["k", "c", "b"])
    assert validate_frame(frame, infer_contract(frame, features)).ok


def test_training_frame_with_nan_satisfies_its_inferred_contract() -> None:
    # NaN is a missing value to the validator, so inference must count it too (and ranges ignore it).
    frame = pl.DataFrame({"x": [1.0, float("nan"), float("nan"), 4.0, 5.0]})
    contract = infer_contract(frame, [Feature("x", NUMERIC)])
    report = validate_frame(frame, contract)
    assert report.violations == ()


def test_missing_column() -> None:
    found = by_kind(good_frame().drop("carrier"))
    assert found == {"missing_column": Violation("carrier", "missing_column", "absent", "categorical")}


def test_wrong_type_for_numeric_and_categorical() -> None:
    frame = good_frame().with_columns(pl.col("distance").cast(pl.String), pl.col("carrier").cast(pl.Float64,
                                                                                                 strict=False))
    report = validate_frame(frame, CONTRACT)
    assert report.violations == (
        Violation("distance", "wrong_type", "String", "numeric"),
        Violation("carrier", "wrong_type", "Float64", "text, boolean or integer"),
    )


def test_missing_rate_counts_nulls_and_nans() -> None:
    frame = good_frame().with_columns(pl.Series("distance", [None, float("nan"), 1.0, 2.0]))
    found = by_kind(frame)
    assert found["missing_rate"] == Violation("distance", "missing_rate", 0.5, "<= 0.1", 2)


def test_below_min_and_above_max_with_counts_and_examples() -> None:
    frame = good_frame().with_columns(pl.Series("distance", [-5.0, -1.0, 150.0, 120.0]))
    found = by_kind(frame)
    assert found["below_min"] == Violation("distance", "below_min", -5.0, ">= 0.0", 2, (-5.0, -1.0))
    assert found["above_max"] == Violation("distance", "above_max", 150.0, "<= 100.0", 2, (150.0, 120.0))


def test_unknown_category_counts_and_most_frequent_examples() -> None:
    frame = pl.DataFrame({
        "distance": [1.0] * 6,
        "carrier": ["ZZ", "AA", "XX", "ZZ", "ZZ", "XX"],
        "flag": ["true", "maybe", "false", "true", "true", None],
    })
    found = {v.column: v for v in validate_frame(frame, CONTRACT).violations}
    assert found["carrier"] == Violation("carrier", "unknown_category", ["ZZ", "XX"], "one of 2 categories", 5,
                                         ("ZZ", "XX"))
    assert found["flag"].rows == 1 and found["flag"].examples == ("maybe",)
    assert found["carrier"].describe() == (
        "column 'carrier': unknown_category in 5 rows (observed ['ZZ', 'XX'], expected one of 2 categories)"
    )


def test_unknown_category_in_a_column_named_count() -> None:
    contract = Contract(columns={"count": CategoricalColumn(categories=["a"])})
    report = validate_frame(pl.DataFrame({"count": ["a", "b", "b"]}), contract)
    assert report.violations == (Violation("count", "unknown_category", ["b"], "one of 1 categories", 2, ("b",)),)


def test_any_category_accepts_everything() -> None:
    contract = Contract(columns={"id": CategoricalColumn(any_category=True)})
    assert validate_frame(pl.DataFrame({"id": ["never", "seen"]}), contract).ok


def test_as_dict_lists_examples() -> None:
    frame = good_frame().with_columns(pl.Series("distance", [-5.0, 1.0, 2.0, 3.0]))
    assert validate_frame(frame, CONTRACT).as_dict() == {
        "ok": False,
        "row_count": 4,
        "violations": [{"column": "distance", "kind": "below_min", "observed": -5.0, "expected": ">= 0.0",
                        "rows": 1, "examples": [-5.0]}],
    }


def test_integer_categories_compare_as_text() -> None:
    contract = Contract(columns={"k": CategoricalColumn(kind=CATEGORICAL, categories=["1", "10", "2"])})
    report = validate_frame(pl.DataFrame({"k": [10, 3, 3]}), contract)
    assert report.violations == (Violation("k", "unknown_category", ["3"], "one of 3 categories", 2, ("3",)),)
