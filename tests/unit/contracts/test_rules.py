"""appliance/contracts/rules.py: the same bad rows get the same kinds and words from the scoring API
(`request_frame.build_frame`), batch scoring (`batch_scoring._reasons`) and the contract check of a frame
(`validation.validate_frame`)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import polars as pl
import pytest

from appliance.serving.batch_scoring import _reasons
from appliance.contracts import rules
from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn
from appliance.contracts.features import features_from
from appliance.contracts.validation import validate_frame
from appliance.errors import InvalidRequest
from appliance.serving.request_frame import Policy, build_frame, columns_from_records

FEATURES = features_from(["distance"], ["carrier", "flag", "k"])
KIND = {f.name: f.kind for f in FEATURES}
CONTRACT = Contract(columns={
    "distance": NumericColumn(min=0.0, max=100.0, max_missing_rate=1.0),
    "carrier": CategoricalColumn(categories=["AA", "UA"], max_missing_rate=1.0),
    "flag": CategoricalColumn(categories=["false", "true"], max_missing_rate=1.0),
    "k": CategoricalColumn(categories=["1", "2"], max_missing_rate=1.0),
})
REJECT, FLAG = Policy("reject", "reject"), Policy("flag", "flag")

GOOD = {"distance": 10.0, "carrier": "AA", "flag": True, "k": 1}
BAD_ROWS = [
    GOOD,
    GOOD | {"distance": -5.0},
    GOOD | {"carrier": "ZZ"},
    GOOD | {"distance": 150.0},
    GOOD | {"k": 3},
    GOOD | {"distance": float("inf")},
    {"distance": None, "carrier": None, "flag": False, "k": None},  # missing is no row's problem
]
EXPECTED = {(1, "distance", "out_of_range"), (2, "carrier", "unknown_category"), (3, "distance", "out_of_range"),
            (4, "k", "unknown_category"), (5, "distance", "not_finite")}
SCHEMA = {"distance": pl.Float64, "carrier": pl.String, "flag": pl.Boolean, "k": pl.Int64}


def serving_kinds(records: list[dict[str, Any]], policy: Policy) -> set[tuple[int, str, str]]:
    columns = columns_from_records(records, FEATURES)
    with pytest.raises(InvalidRequest) as refused:
        build_frame(columns, FEATURES, CONTRACT, policy, max_rows=100)
    found = set()
    for error in refused.value.errors:
        row, column = re.fullmatch(r"records\[(\d+)\]\.(\w+)", error["field"]).groups()  # type: ignore[union-attr]
        found.add((int(row), column, error["kind"]))
    return found


def batch_reasons(frame: pl.DataFrame, policy: Policy, column: str = "_reject") -> dict[int, list[str]]:
    checked = _reasons(frame, FEATURES, CONTRACT, policy)
    return {row: reasons for row, reasons in enumerate(checked[column].to_list()) if reasons}


def words(expected: set[tuple[int, str, str]]) -> dict[int, list[str]]:
    by_row: dict[int, list[str]] = {}
    for row, column, kind in sorted(expected, key=lambda t: (t[0], list(KIND).index(t[1]))):
        by_row.setdefault(row, []).append(rules.reason(kind, column, KIND[column]))
    return by_row


def report_kinds(frame: pl.DataFrame) -> Counter[tuple[str, str]]:
    sides = {rules.BELOW_MIN: rules.OUT_OF_RANGE, rules.ABOVE_MAX: rules.OUT_OF_RANGE}
    found: Counter[tuple[str, str]] = Counter()
    for violation in validate_frame(frame, CONTRACT).violations:
        found[(violation.column, sides.get(violation.kind, violation.kind))] += violation.rows or 1
    return found


def test_the_same_bad_rows_get_the_same_kinds_from_serving_batch_and_the_contract_check() -> None:
    frame = pl.DataFrame(BAD_ROWS, schema=SCHEMA)
    assert serving_kinds(BAD_ROWS, REJECT) == EXPECTED
    assert batch_reasons(frame, REJECT) == words(EXPECTED) == {
        1: ["out_of_range:distance"], 2: ["unknown_category:carrier"], 3: ["out_of_range:distance"],
        4: ["unknown_category:k"], 5: ["distance: not finite"]}
    assert report_kinds(frame) == Counter((column, kind) for _, column, kind in EXPECTED)


def test_flagged_rows_carry_the_same_flags_in_serving_and_batch() -> None:
    rows = BAD_ROWS[:5]
    answered = build_frame(columns_from_records(rows, FEATURES), FEATURES, CONTRACT, FLAG, max_rows=100)
    frame = pl.DataFrame(rows, schema=SCHEMA)
    assert batch_reasons(frame, FLAG) == {}
    assert dict(enumerate(answered.flags)) == {0: []} | batch_reasons(frame, FLAG, "_flags") == {
        0: [], 1: ["out_of_range:distance"], 2: ["unknown_category:carrier"], 3: ["out_of_range:distance"],
        4: ["unknown_category:k"]}


@pytest.mark.parametrize("distance, carrier, batch", [
    (["12", None], [1.5, None], {0: ["carrier: not text, an integer or a boolean"]}),
    (["n/a", None], [1.5, None], {0: ["distance: not a number", "carrier: not text, an integer or a boolean"]}),
    ([True, None], [2.5, None], {0: ["distance: not a number", "carrier: not text, an integer or a boolean"]})])
def test_wrong_types_are_wrong_everywhere(distance: list[Any], carrier: list[Any], batch: dict[int, list[str]]) -> None:
    # text or a boolean for a number, a float for a category: refused per value by serving (a JSON string is
    # no number) and named as the column's wrong type by the contract check. A batch file's text column is
    # read value by value (a CSV column with one cell such as "n/a" is text): "12" is the number 12, "n/a"
    # refuses its row; a boolean is never a number
    frame = pl.DataFrame({"distance": distance, "carrier": carrier, "flag": [True, False], "k": [1, 2]})
    records = frame.to_dicts()
    expected = {(0, "distance", "wrong_type"), (0, "carrier", "wrong_type")}
    assert serving_kinds(records, FLAG) == expected
    assert batch_reasons(frame, FLAG) == batch
    assert set(report_kinds(frame)) == {(column, kind) for _, column, kind in expected}


def test_nan_is_refused_in_traffic_and_missing_in_training_data() -> None:
    frame = pl.DataFrame([GOOD | {"distance": float("nan")}], schema=SCHEMA)
    assert batch_reasons(frame, FLAG) == {0: ["distance: not finite"]}
    assert serving_kinds(frame.to_dicts(), FLAG) == {(0, "distance", "not_finite")}
    assert validate_frame(frame, CONTRACT).ok  # a share of missing values, within max_missing_rate


def test_serving_reads_plain_numbers_at_once_and_odd_values_one_by_one() -> None:
    numbers, problems = rules.read_numbers([1, 2.5, -3])
    assert numbers.tolist() == [1.0, 2.5, -3.0] and problems == []
    numbers, problems = rules.read_numbers([1, None, True, "7", float("nan"), 10 ** 400])
    assert np.isnan(numbers[1:]).all() and numbers[0] == 1.0
    assert [(row, kind) for row, (kind, _) in problems] == [
        (2, "wrong_type"), (3, "wrong_type"), (4, "not_finite"), (5, "number_too_large")]
    assert problems[0][1][1] == "expected a number, got true" and problems[1][1][1] == "expected a number, got '7'"


def test_policy_decides_only_unknown_categories_and_ranges() -> None:
    assert [rules.refuses(kind, FLAG) for kind in ("unknown_category", "out_of_range", "wrong_type", "not_finite")] \
        == [False, False, True, True]
    assert rules.refuses("unknown_category", REJECT) and rules.refuses("out_of_range", REJECT)
