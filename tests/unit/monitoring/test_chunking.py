"""appliance/monitoring/chunking.py: chunks by calendar period, by size and by count, exactly."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appliance.core.periods import Period
from appliance.errors import MonitoringError
from appliance.monitoring.chunking import ChunkSpec, parse_chunk, period_chunks, row_boundaries, sized_chunks


def edges(chunks: list[Period]) -> list[tuple[str, str]]:
    return [(f"{c.start:%Y-%m-%d %H:%M}", f"{c.end:%Y-%m-%d %H:%M}") for c in chunks]


def test_chunk_specs_are_read_exactly_and_typos_refused() -> None:
    assert parse_chunk("1M") == ChunkSpec("period", 1, "M")
    assert parse_chunk(" 2w ") == ChunkSpec("period", 2, "w")
    assert parse_chunk("rows:10000") == ChunkSpec("rows", 10000)
    assert parse_chunk("chunks:12") == ChunkSpec("chunks", 12)
    assert str(parse_chunk("chunks:12")) == "chunks:12" and str(parse_chunk("1y")) == "1y"
    for bad in ("0d", "1q", "rows:0", "rows:", "chunks:-1", "M", "1 M", "rows:1.5"):
        with pytest.raises(MonitoringError, match="is not a period"):
            parse_chunk(bad)


def test_calendar_months_are_clipped_to_the_period_and_keep_their_lengths() -> None:
    period = Period(datetime(2016, 1, 15, 12), datetime(2016, 4, 1), "event")
    assert edges(period_chunks(period, parse_chunk("1M"))) == [
        ("2016-01-15 12:00", "2016-02-01 00:00"), ("2016-02-01 00:00", "2016-03-01 00:00"),
        ("2016-03-01 00:00", "2016-04-01 00:00")]
    assert [c.span for c in period_chunks(period, parse_chunk("1M"))][1] == timedelta(days=29)  # a leap February
    assert all(c.axis == "event" for c in period_chunks(period, parse_chunk("1M")))


def test_months_years_and_quarters_cross_year_ends() -> None:
    period = Period(datetime(2015, 11, 1), datetime(2017, 2, 1), "arrival")
    assert edges(period_chunks(period, parse_chunk("3M"))) == [
        ("2015-11-01 00:00", "2016-02-01 00:00"), ("2016-02-01 00:00", "2016-05-01 00:00"),
        ("2016-05-01 00:00", "2016-08-01 00:00"), ("2016-08-01 00:00", "2016-11-01 00:00"),
        ("2016-11-01 00:00", "2017-02-01 00:00")]
    assert edges(period_chunks(period, parse_chunk("1y"))) == [
        ("2015-11-01 00:00", "2016-01-01 00:00"), ("2016-01-01 00:00", "2017-01-01 00:00"),
        ("2017-01-01 00:00", "2017-02-01 00:00")]


def test_weeks_start_on_monday_and_days_at_midnight() -> None:
    period = Period(datetime(2016, 3, 2, 6), datetime(2016, 3, 16), "event")  # a Wednesday .. a Wednesday
    assert edges(period_chunks(period, parse_chunk("1w"))) == [
        ("2016-03-02 06:00", "2016-03-07 00:00"), ("2016-03-07 00:00", "2016-03-14 00:00"),
        ("2016-03-14 00:00", "2016-03-16 00:00")]
    assert edges(period_chunks(Period(datetime(2016, 3, 1, 22), datetime(2016, 3, 3, 1)), parse_chunk("1d"))) == [
        ("2016-03-01 22:00", "2016-03-02 00:00"), ("2016-03-02 00:00", "2016-03-03 00:00"),
        ("2016-03-03 00:00", "2016-03-03 01:00")]


def test_too_many_chunks_is_refused() -> None:
    with pytest.raises(MonitoringError, match="more than 5000"):
        period_chunks(Period(datetime(2000, 1, 1), datetime(2020, 1, 1)), parse_chunk("1h"))


TIMES = [datetime(2016, 1, day) for day in range(1, 11)]  # ten distinct times, one row each


def test_rows_n_keeps_the_incomplete_last_chunk_as_nannyml_does() -> None:
    period = Period(datetime(2016, 1, 1), datetime(2016, 1, 11), "event")
    chunks = sized_chunks(period, parse_chunk("rows:4"), TIMES, [1] * 10)
    assert edges(chunks) == [("2016-01-01 00:00", "2016-01-05 00:00"), ("2016-01-05 00:00", "2016-01-09 00:00"),
                             ("2016-01-09 00:00", "2016-01-11 00:00")]  # 4, 4 and the remaining 2 rows


def test_chunks_n_makes_exactly_n_chunks_differing_by_at_most_one_row() -> None:
    period = Period(datetime(2016, 1, 1), datetime(2016, 1, 11), "event")
    chunks = sized_chunks(period, parse_chunk("chunks:3"), TIMES, [1] * 10)
    assert edges(chunks) == [("2016-01-01 00:00", "2016-01-05 00:00"), ("2016-01-05 00:00", "2016-01-08 00:00"),
                             ("2016-01-08 00:00", "2016-01-11 00:00")]  # 4, 3, 3 rows
    assert len(sized_chunks(period, parse_chunk("chunks:40"), TIMES, [1] * 10)) == 10  # no chunk without rows


def test_rows_sharing_a_time_are_never_split() -> None:
    # three months of 5, 5 and 2 rows (a year-month event time): rows:4 would cut inside January and February;
    # each boundary moves past its month, so the chunks hold 5, 5 and 2 rows
    months = [datetime(2016, 1, 1), datetime(2016, 2, 1), datetime(2016, 3, 1)]
    assert row_boundaries([4, 4, 4], months, [5, 5, 2]) == [0, 1, 2]
    assert row_boundaries([6, 6], months, [5, 5, 2]) == [0, 2]  # 6 rows wanted: January and February, then March
    assert row_boundaries([4, 4, 4], months[:1], [12]) == [0]  # one time holding every row: one chunk
    period = Period(datetime(2016, 1, 1), datetime(2016, 4, 1), "event")
    assert edges(sized_chunks(period, parse_chunk("rows:4"), months, [5, 5, 2])) == [
        ("2016-01-01 00:00", "2016-02-01 00:00"), ("2016-02-01 00:00", "2016-03-01 00:00"),
        ("2016-03-01 00:00", "2016-04-01 00:00")]
    assert edges(sized_chunks(period, parse_chunk("rows:100"), months, [5, 5, 2])) == [
        ("2016-01-01 00:00", "2016-04-01 00:00")]
    assert sized_chunks(period, parse_chunk("rows:4"), [], []) == []
