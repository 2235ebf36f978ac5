"""Event times of a whole column (core/event_times.py): the same values and refusals as one value at a time."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from appliance.core.event_times import parse_column
from appliance.core.request_event_time import read

NOW = datetime(2024, 6, 1, 12, 0)


def test_text_column_matches_the_one_value_reader() -> None:
    values = ["2016-03-01", "2016-03-01T01:02:03", "2016-03-01 01:02:03.5", "2016-03-01T01:00:00+01:00",
              "20240105T100000Z", "soon", None, "1899-12-31", "2024-06-02T12:00:01"]
    times, bad = parse_column(pl.Series("t", values), NOW)
    expected = [read(v, NOW)[0] if v is not None else None for v in values]
    assert times.to_list() == expected
    assert bad.tolist() == [False, False, False, False, False, True, False, True, True]


def test_numbers_dates_and_zoned_timestamps() -> None:
    times, bad = parse_column(pl.Series("t", [0.0, 1.5, None, 1717243200000.0, float("nan")]), NOW)
    assert times.to_list() == [datetime(1970, 1, 1), datetime(1970, 1, 1, 0, 0, 1, 500000), None, None, None]
    assert bad.tolist() == [False, False, False, True, False]
    zoned = pl.Series("t", [datetime(2020, 1, 1, 12)]).dt.replace_time_zone("Europe/Paris")
    assert parse_column(zoned, NOW)[0].to_list() == [datetime(2020, 1, 1, 11)]
    assert parse_column(pl.Series("t", [True]), NOW)[1].tolist() == [True]
