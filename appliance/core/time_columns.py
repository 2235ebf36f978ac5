"""Time columns of data files: a date or timestamp, or a period written as an integer year (2016), a
year-month as text ("2016-03") or as an integer (201603). A period stands for its first instant
(2016 -> 2016-01-01 00:00, 201603 and "2016-03" -> 2016-03-01 00:00), so rows of one period share one
time and a split or chunk by time never cuts a period in two.

A column is read as a whole, by the form all its values share: integers all within 1..9999 are years;
integers all of the form YYYYMM (month 01..12, year 1000..9999) are year-months; text all of the
form YYYY-MM is year-months. A column mixing forms is none of them. Timestamps with a zone become
naive UTC, as every time in the store is.

>>> as_timestamps(pl.Series("year", [2015, 2016]))[0].to_list()
[datetime.datetime(2015, 1, 1, 0, 0), datetime.datetime(2016, 1, 1, 0, 0)]
>>> as_timestamps(pl.Series("ym", [201603, 201612]))[1]
'year-month'
"""

from __future__ import annotations

import polars as pl

YEAR = "year"
YEAR_MONTH = "year-month"
TIMESTAMP = "timestamp"
_YEAR_MONTH_TEXT = r"^\d{4}-(0[1-9]|1[0-2])$"


def as_timestamps(column: pl.Series) -> tuple[pl.Series, str] | None:
    """(the column as naive UTC Datetime("us"), its form), or None when it is no time column of these forms.
    Missing values stay missing."""
    dtype = column.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column.cast(pl.Datetime("us")), TIMESTAMP
    if dtype == pl.Date:
        return column.cast(pl.Datetime("us")), TIMESTAMP
    if dtype.is_integer():
        return _from_integers(column)
    if dtype == pl.String:
        return _from_text(column)
    return None


def _from_integers(column: pl.Series) -> tuple[pl.Series, str] | None:
    present = column.drop_nulls().cast(pl.Int64).to_numpy()
    if len(present) == 0:
        return None
    low, high = int(present.min()), int(present.max())
    values = column.cast(pl.Int64)
    if 1 <= low and high <= 9999:
        return _first_instant(values, pl.Series([1] * len(values), dtype=pl.Int64)).alias(column.name), YEAR
    months = present % 100
    if 100_001 <= low and high <= 999_912 and low // 100 >= 1000 and bool(((months >= 1) & (months <= 12)).all()):
        return _first_instant(values // 100, values % 100).alias(column.name), YEAR_MONTH
    return None


def _from_text(column: pl.Series) -> tuple[pl.Series, str] | None:
    stripped = column.str.strip_chars()
    present = stripped.drop_nulls()
    if present.len() == 0 or not bool(present.str.contains(_YEAR_MONTH_TEXT).all()):
        return None
    parsed = (stripped + "-01").str.to_datetime("%Y-%m-%d", time_unit="us", strict=True)
    return parsed.alias(column.name), YEAR_MONTH


def _first_instant(years: pl.Series, months: pl.Series) -> pl.Series:
    """The first instant of each (year, month); a missing year stays missing."""
    frame = pl.DataFrame({"y": years, "m": months})
    return frame.select(pl.datetime(pl.col("y"), pl.col("m"), 1, time_unit="us")).to_series()
