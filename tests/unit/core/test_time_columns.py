"""appliance/core/time_columns.py: years, year-months and timestamps as the first instant of their period."""

from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl

from appliance.core.time_columns import as_timestamps


def read(values: list[object], dtype: pl.DataType | None = None) -> tuple[list[object], str] | None:
    found = as_timestamps(pl.Series("t", values, dtype=dtype))
    return None if found is None else (found[0].to_list(), found[1])


def test_integer_years_and_year_months_are_their_first_instant() -> None:
    assert read([2015, None, 2018]) == ([datetime(2015, 1, 1), None, datetime(2018, 1, 1)], "year")
    assert read([201603, 201612, 199901]) == (
        [datetime(2016, 3, 1), datetime(2016, 12, 1), datetime(1999, 1, 1)], "year-month")
    assert read(["2016-03", " 2016-11 ", None]) == ([datetime(2016, 3, 1), datetime(2016, 11, 1), None], "year-month")


def test_dates_and_zoned_timestamps_become_naive_utc() -> None:
    assert read([date(2016, 3, 1)]) == ([datetime(2016, 3, 1)], "timestamp")
    zoned = pl.Series("t", [datetime(2016, 3, 1, 12, tzinfo=timezone.utc)]).dt.convert_time_zone("Europe/Berlin")
    found = as_timestamps(zoned)
    assert found is not None and found[0].to_list() == [datetime(2016, 3, 1, 12)]


def test_a_column_of_no_single_form_is_none_of_them() -> None:
    assert read([201613]) is None  # month 13
    assert read([2016, 201603]) is None  # years and year-months mixed
    assert read(["2016-03", "2016-03-01"]) is None
    assert read(["2016-13"]) is None
    assert read([1.5, 2.0]) is None
    assert read([None], pl.Int64) is None
