"""appliance/training/dataset.py: dataset checks, the time split and labels."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from appliance.contracts.validation import Violation
from appliance.errors import DatasetError
from appliance.training.dataset import check_dataset, labels, require_valid, split_by_time
from appliance.training.spec import TrainingSpec, parse_spec

SPEC = """\
model = "m"
task = "binary"
target = "y"
{extra}
[source]
path = "d.parquet"
[features]
numeric = ["a"]
categorical = ["c"]
segments = ["g"]
max_missing_rate = 0.2
[split]
time_column = "t"
{split}
[estimator]
kind = "random_forest"
"""


def spec(extra: str = "", split: str = "") -> TrainingSpec:
    return parse_spec(SPEC.format(extra=extra, split=split)).spec


def frame(rows: int = 10, **columns: list[object]) -> pl.DataFrame:
    data: dict[str, list[object]] = {
        "t": [datetime(2024, 1, 1) + timedelta(days=d) for d in range(rows)],
        "a": [float(i) for i in range(rows)],
        "c": ["x", "z"] * (rows // 2),
        "g": ["p"] * rows,
        "y": ["no", "yes"] * (rows // 2),
    }
    data.update(columns)
    return pl.DataFrame(data)


def violations(data: pl.DataFrame, training_spec: TrainingSpec | None = None) -> tuple[Violation, ...]:
    return check_dataset(data, training_spec or spec()).violations


def test_valid_dataset() -> None:
    report = check_dataset(frame(), spec())
    assert report.ok and report.row_count == 10


def test_empty_dataset() -> None:
    assert violations(frame().head(0)) == (Violation("", "empty_dataset", 0, "at least one row"),)


def test_missing_column() -> None:
    assert violations(frame().drop("c", "g")) == (
        Violation("c", "missing_column", "absent", "categorical column"),
        Violation("g", "missing_column", "absent", "segment column"),
    )


def test_numeric_column_holding_text() -> None:
    found = violations(frame(a=[str(i) for i in range(10)]))
    assert found == (Violation("a", "wrong_type", "String", "numeric"),)


def test_missing_labels() -> None:
    found = violations(frame(y=["no", "yes"] * 4 + [None, None]))
    assert found == (Violation("y", "missing_label", 2, "every row labelled", 2),)


def test_one_class_label() -> None:
    assert violations(frame(y=["no"] * 10)) == (Violation("y", "label_classes", ["no"], "exactly 2 classes"),)


def test_positive_class_absent_from_labels() -> None:
    found = violations(frame(), spec('positive_class = "maybe"'))
    assert found == (Violation("y", "positive_class", ["no", "yes"], "contains 'maybe'"),)


def test_missing_rate_above_the_spec_limit() -> None:
    found = violations(frame(a=[None, None, None] + [1.0] * 7))
    assert found == (Violation("a", "missing_rate", 0.3, "<= 0.2", 3),)
    assert violations(frame(a=[None, None] + [1.0] * 8)) == ()


def test_require_valid_raises_with_the_report() -> None:
    with pytest.raises(DatasetError, match=r"dataset from d.parquet breaks the spec \(1 problem\(s\)\)") as error:
        require_valid(frame(y=["no"] * 10), spec(), "d.parquet")
    assert error.value.report.violations[0].kind == "label_classes"


def test_split_by_default_fraction() -> None:
    split = split_by_time(frame().reverse(), spec().split)
    assert (split.train.height, split.holdout.height) == (8, 2)
    assert split.holdout_start == datetime(2024, 1, 9)
    assert split.train["t"].max() < split.holdout["t"].min()


def test_split_by_fraction_keeps_equal_times_together() -> None:
    data = frame().with_columns(pl.Series("t", [datetime(2024, 1, 1)] * 6 + [datetime(2024, 1, 2)] * 4))
    split = split_by_time(data, spec(split="holdout_fraction = 0.3").split)
    assert (split.train.height, split.holdout.height) == (6, 4)


def test_split_fraction_is_exact_for_float_shares() -> None:
    # 30% of 90 rows is 27 rows; 90 * (1 - 0.3) is 62.99999999999999 in floating point.
    split = split_by_time(frame(90), spec(split="holdout_fraction = 0.3").split)
    assert (split.train.height, split.holdout.height) == (63, 27)


def test_split_by_holdout_start() -> None:
    split = split_by_time(frame(), spec(split="holdout_start = 2024-01-04T00:00:00").split)
    assert (split.train.height, split.holdout.height) == (3, 7)
    assert split.holdout["t"].min() == datetime(2024, 1, 4)


def test_split_holdout_start_with_offset_is_converted_to_utc() -> None:
    # 02:00 at +02:00 is midnight UTC; the time column is naive UTC.
    split = split_by_time(frame(), spec(split="holdout_start = 2024-01-04T02:00:00+02:00").split)
    assert split.holdout_start == datetime(2024, 1, 4)
    assert (split.train.height, split.holdout.height) == (3, 7)


def test_split_leaving_no_training_rows() -> None:
    with pytest.raises(DatasetError, match="leaves 0 training and 10 holdout rows"):
        split_by_time(frame(), spec(split="holdout_start = 2023-01-01T00:00:00").split)


def test_labels_binary_with_and_without_positive_class() -> None:
    data = frame(4)
    assert labels(data, spec()).tolist() == [0, 1, 0, 1]  # 'yes' sorts last
    assert labels(data, spec(), "no").tolist() == [1, 0, 1, 0]
    assert labels(data, spec('positive_class = "no"')).tolist() == [1, 0, 1, 0]
    booleans = frame(4, y=[True, False, False, True])
    assert labels(booleans, spec("positive_class = true")).tolist() == [1, 0, 0, 1]


def test_labels_regression_as_float() -> None:
    regression = parse_spec(SPEC.format(extra="", split="").replace('"binary"', '"regression"')).spec
    found = labels(frame(4, y=[1, 2, 3, 5]), regression)
    assert found.dtype == np.float64 and found.tolist() == [1.0, 2.0, 3.0, 5.0]
