"""The label rules on hand-made batches: values per task, each bad label named, duplicates, statuses."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from appliance.serving import labels
from appliance.serving.feedback import batch_of_items, refusal
from appliance.serving.labels import LabelsRefused, VersionClasses

BINARY = {1: VersionClasses("binary", {"false": 0.0, "true": 1.0}), 2: VersionClasses("binary", {"0": 0.0, "1": 1.0})}


def located(values: list[object], versions: list[int], stored: list[str | None] | None = None) -> pl.DataFrame:
    batch = batch_of_items([{"request_id": f"r{i}", "row_index": 0, "label": v} for i, v in enumerate(values)])
    return batch.with_columns(answered_by=pl.lit("m"), rows=pl.lit(1, dtype=pl.Int64), row_answered=pl.lit(True),
                              version=pl.Series(versions, dtype=pl.Int32),
                              stored_label=pl.Series(stored or [None] * len(values), dtype=pl.String),
                              stored_event_time=pl.lit(None, dtype=pl.Datetime("us")),
                              stored_model=pl.lit(None, dtype=pl.String))


def test_binary_labels_take_their_versions_forms_and_values() -> None:
    checked = labels._checked(located([True, "false", 1, 0], [1, 1, 2, 2], ["true", None, "0", None]), "m", "binary",
                              BINARY)
    assert checked.select("label", "label_value", "status").rows() == [
        ("true", 1.0, "unchanged"), ("false", 0.0, "recorded"), ("1", 1.0, "updated"), ("0", 0.0, "recorded")]


def test_every_bad_label_is_named_and_worded() -> None:
    with pytest.raises(LabelsRefused) as refused:
        labels._checked(located([True, 7, "maybe", 1], [1, 1, 1, 1]), "m", "binary", BINARY)
    error = refusal(refused.value.bad, listed=True)
    assert error.errors == [
        {"field": "labels[1].label", "kind": "unknown_class",
         "problem": "'7' is not a class of this model; its classes are false, true"},
        {"field": "labels[2].label", "kind": "unknown_class",
         "problem": "'maybe' is not a class of this model; its classes are false, true"},
        {"field": "labels[3].label", "kind": "unknown_class",
         "problem": "'1' is not a class of this model; its classes are false, true"}]
    assert str(error).endswith("(and 2 more bad label(s); nothing was recorded)")


def test_regression_labels_are_finite_numbers() -> None:
    checked = labels._checked(located([2.5, 3, -1e300], [1, 1, 1]), "m", "regression", {})
    assert checked.select("label", "label_value").rows() == [("2.5", 2.5), ("3", 3.0), ("-1e+300", -1e300)]
    with pytest.raises(LabelsRefused) as refused:
        labels._checked(located([1.0, float("inf"), True, "4"], [1, 1, 1, 1]), "m", "regression", {})
    assert [(b.index, b.kind) for b in refused.value.bad] == [(1, "invalid_label"), (2, "invalid_label"),
                                                              (3, "invalid_label")]


def test_rows_not_answered_are_reported_not_checked() -> None:
    frame = located(["nonsense", "nonsense", "nonsense"], [1, 1, 1]).with_columns(
        answered_by=pl.Series(["m", "other", None]), rows=pl.Series([0, 1, None], dtype=pl.Int64),
        row_answered=pl.Series([False, True, False]))
    checked = labels._checked(frame, "m", "binary", BINARY)
    assert checked.select("status", "problem").rows() == [
        ("unknown_row", "row 0 of the request was not answered (it has 0 answered row(s))"), ("wrong_model", "request was answered by model 'other'"),
        ("unknown_request_id", None)]


def test_duplicates_name_each_later_label() -> None:
    batch = batch_of_items([{"request_id": "a", "row_index": 0, "label": True},
                            {"request_id": "a", "row_index": 1, "label": True},
                            {"request_id": "a", "row_index": 0, "label": False, "event_time": datetime(2020, 1, 1)}])
    assert [(b.index, b.kind) for b in labels.duplicates(batch)] == [(2, "duplicate_label")]
    assert labels.duplicates(batch.head(2)) == []
