"""A spec's time column as an integer year, a year-month or a date; .pq files: the split stays exact."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from appliance.errors import SpecError
from appliance.training.dataset import check_dataset, load_snapshot, split_by_time
from appliance.training.frames import read_frame
from appliance.training.spec import parse_spec

SPEC = """\
model = "m"
task = "binary"
target = "y"
[source]
path = "{path}"
[features]
numeric = ["a"]
[split]
time_column = "t"
{split}
[estimator]
kind = "random_forest"
"""


def snapshot(tmp_path: Path, times: list[object]) -> Path:
    path = tmp_path / "snap.pq"
    pl.DataFrame({"t": times, "a": [float(i) for i in range(len(times))],
                  "y": ["no", "yes"] * (len(times) // 2)}).write_parquet(path)
    return path


@pytest.mark.parametrize("times", [
    [2015, 2015, 2016, 2016, 2017, 2017, 2018, 2018],
    [201512, 201512, 201601, 201601, 201702, 201702, 201803, 201803],
    ["2015-12", "2015-12", "2016-01", "2016-01", "2017-02", "2017-02", "2018-03", "2018-03"],
])
def test_a_period_time_column_splits_whole_periods_the_same_way_every_load(tmp_path: Path,
                                                                            times: list[object]) -> None:
    path = snapshot(tmp_path, times)
    spec = parse_spec(SPEC.format(path="snap.pq", split="holdout_fraction = 0.25")).spec
    frame = load_snapshot(path, "t")
    assert check_dataset(frame, spec).ok
    split = split_by_time(frame, spec.split)
    assert split.train["a"].to_list() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # the last period is the holdout, whole
    assert split.holdout["a"].to_list() == [6.0, 7.0]
    assert split.holdout_start == frame["t"][6] and split.holdout_start.day == 1
    again = split_by_time(load_snapshot(path, "t"), spec.split)  # what `vigil reproduce` does
    assert again.holdout_start == split.holdout_start and again.train.equals(split.train)


def test_holdout_start_names_the_first_instant_of_a_year(tmp_path: Path) -> None:
    path = snapshot(tmp_path, [2015, 2016, 2017, 2018])
    spec = parse_spec(SPEC.format(path="snap.pq", split="holdout_start = 2017-01-01T00:00:00")).spec
    split = split_by_time(load_snapshot(path, "t"), spec.split)
    assert split.train["a"].to_list() == [0.0, 1.0] and split.holdout_start == datetime(2017, 1, 1)


def test_a_time_column_of_no_time_form_is_refused_naming_the_forms(tmp_path: Path) -> None:
    path = snapshot(tmp_path, [1.5, 2.5])
    spec = parse_spec(SPEC.format(path="snap.pq", split="holdout_fraction = 0.5")).spec
    [violation] = check_dataset(load_snapshot(path, "t"), spec).violations
    assert (violation.column, violation.kind) == ("t", "wrong_type")
    assert "integer year (2016) or year-month (201603 or '2016-03')" in violation.expected


def test_pq_files_are_parquet(tmp_path: Path) -> None:
    path = snapshot(tmp_path, [2015, 2016])
    assert read_frame(path).height == 2
    assert parse_spec(SPEC.format(path="data.pq", split="holdout_fraction = 0.5")).spec.source.path == "data.pq"
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(SpecError, match="use .parquet, .pq or .csv"):
        read_frame(tmp_path / "data.txt")
