"""Event times of a whole file column at once (batch scoring, label files), by the scoring doors' rule.

One value is read by `core/request_event_time.read` (ISO-8601 text or epoch seconds, from EARLIEST to a
day after now, naive UTC). A file's column may hold millions of them, so this module reads a column in
one vectorised pass with the same result: dates and timestamps as they are (a zone converted to UTC),
numbers as epoch seconds, text in its common ISO-8601 forms by polars and any other form value by
value through `read`. Missing values stay missing and are not bad.

>>> import polars as pl
>>> times, bad = parse_column(pl.Series("t", ["2016-03-01", "soon", None]))
>>> times.to_list(), bad.tolist()
([datetime.datetime(2016, 3, 1, 0, 0), None, None], [False, True, False])
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.core.request_event_time import AHEAD, EARLIEST, read

EXPECTED = "ISO-8601 text (e.g. 2016-03-01T12:30:00Z) or epoch seconds, from 1900-01-01 to a day after now"
_EPOCH = datetime(1970, 1, 1)
_ISO_FORMS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def parse_column(column: pl.Series, now: datetime | None = None) -> tuple[pl.Series, np.ndarray]:
    """(the column as naive UTC Datetime("us"), a mask of the rows that are not event times)."""
    latest = (now or utc_now()) + AHEAD
    if column.dtype == pl.Date or isinstance(column.dtype, pl.Datetime):
        if isinstance(column.dtype, pl.Datetime) and column.dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return _bounded(column.cast(pl.Datetime("us")), np.zeros(len(column), dtype=bool), latest)
    if column.dtype.is_numeric() and column.dtype != pl.Boolean:
        return _bounded(*_from_seconds(column.cast(pl.Float64)), latest)
    if column.dtype == pl.String:
        return _from_text(column, now or utc_now())
    return pl.Series(column.name, [None] * len(column), dtype=pl.Datetime("us")), column.is_not_null().to_numpy()


def _from_seconds(seconds: pl.Series) -> tuple[pl.Series, np.ndarray]:
    present = seconds.is_not_null() & ~seconds.is_nan()
    fits = present & seconds.is_finite() & (seconds.abs() <= 1e11)
    micros = (seconds * 1e6).round().cast(pl.Int64, strict=False)
    times = pl.select(pl.when(fits).then(micros).otherwise(None).cast(pl.Datetime("us"))).to_series()
    return times.alias(seconds.name), (present & ~fits).to_numpy()


def _bounded(times: pl.Series, bad: np.ndarray, latest: datetime) -> tuple[pl.Series, np.ndarray]:
    """Times before EARLIEST or more than a day ahead are bad (and missing) too."""
    outside = ((times < EARLIEST) | (times > latest)).fill_null(False).to_numpy()
    if not outside.any():
        return times, bad
    return times.set(pl.Series(outside), None), bad | outside


def _from_text(text: pl.Series, now: datetime) -> tuple[pl.Series, np.ndarray]:
    """The common ISO-8601 forms in one vectorised pass; the rest (offsets, basic format) value by value."""
    fast = pl.Series(text.name, [None] * len(text), dtype=pl.Datetime("us"))
    for form in _ISO_FORMS:
        fast = fast.fill_null(text.str.to_datetime(form, strict=False, time_unit="us"))
    fast = fast.fill_null(text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
    times, bad = _bounded(fast, np.zeros(len(text), dtype=bool), now + AHEAD)
    slow = (fast.is_null() & text.is_not_null()).to_numpy() & ~bad
    if not slow.any():
        return times, bad
    values = times.to_list()
    for index in np.flatnonzero(slow):
        found, problem = read(text[int(index)], now)
        values[index], bad[index] = found, problem is not None
    return pl.Series(text.name, values, dtype=pl.Datetime("us")), bad
