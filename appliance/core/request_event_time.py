"""The event time a scoring request gives (when what a row scores happened), read by the scoring doors' rule.

A time is ISO-8601 text or a number of seconds since 1970-01-01 UTC. Text is read as Python's
`datetime.fromisoformat` reads it (a date, or a date and time; `T` or a space between; basic or
extended format; `Z` or an offset such as `+05:30`), after checking it is ASCII and at most
MAX_TEXT characters; an offset is converted to UTC, text without one is UTC already, and a
fraction finer than a microsecond is cut to microseconds (the store keeps microseconds). A number
is an integer or a finite float (never a boolean). Either way the time must be no earlier than
EARLIEST and no later than AHEAD past now: a clock a century off, or epoch milliseconds sent as
seconds, is refused rather than stored. The result is a naive UTC datetime, as every store time is.
This module imports nothing heavy, so the HTTP bodies that use it stay cheap to import.

>>> from datetime import datetime
>>> now = datetime(2024, 6, 1)
>>> read("2024-01-05T10:00:00+01:00", now)
(datetime.datetime(2024, 1, 5, 9, 0), None)
>>> read(1704067200, now)
(datetime.datetime(2024, 1, 1, 0, 0), None)
>>> read(True, now)
(None, 'must be ISO-8601 text or a number of seconds since 1970-01-01 UTC, not a boolean')
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

EARLIEST = datetime(1900, 1, 1)
AHEAD = timedelta(days=1)  # a client's clock may run a little ahead of the box's
MAX_TEXT = 64
KIND = "invalid_event_time"
_EPOCH = datetime(1970, 1, 1)
_EARLIEST_SECONDS = (EARLIEST - _EPOCH).total_seconds()
_FORM = "must be ISO-8601 text or a number of seconds since 1970-01-01 UTC"

Reading = tuple[datetime | None, str | None]


def read(value: Any, now: datetime) -> Reading:
    """(`value` as a naive UTC datetime, None), or (None, what is wrong with it); `now` is naive UTC."""
    if isinstance(value, bool):
        return None, f"{_FORM}, not a boolean"
    if isinstance(value, (int, float)):
        return _checked(*_from_seconds(value), now)
    if isinstance(value, str):
        return _checked(*_from_text(value), now)
    return None, f"{_FORM}, not {_kind_of(value)}"


def read_all(values: Sequence[Any], now: datetime) -> tuple[list[datetime | None], list[tuple[int, str]]]:
    """Each value read (None stays None: that row has no event time), and (position, problem) of the bad ones."""
    times: list[datetime | None] = []
    problems: list[tuple[int, str]] = []
    for position, value in enumerate(values):
        if value is None:
            times.append(None)
            continue
        found, problem = read(value, now)
        times.append(found)
        if problem is not None:
            problems.append((position, problem))
    return times, problems


def _from_seconds(value: int | float) -> Reading:
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"must be a finite number of seconds, not {value}"
    if value < _EARLIEST_SECONDS:
        return None, f"{_shown(value)} seconds since 1970 is before {EARLIEST:%Y-%m-%d}"
    if value > 1e11:  # past year 5000: surely milliseconds or microseconds
        return None, f"{_shown(value)} is not plausible as seconds since 1970 (milliseconds? divide by 1000)"
    return _EPOCH + timedelta(seconds=value), None


def _from_text(text: str) -> Reading:
    if len(text) > MAX_TEXT or not text.isascii():
        return None, f"must be ISO-8601 text of at most {MAX_TEXT} ASCII characters"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{text!r} is not an ISO-8601 date or date-time (like 2024-01-05T10:00:00Z)"
    if parsed.tzinfo is None:
        return parsed, None
    try:
        return parsed.astimezone(timezone.utc).replace(tzinfo=None), None
    except OverflowError:
        return None, f"{text!r} falls outside the years 1 to 9999 in UTC"


def _checked(found: datetime | None, problem: str | None, now: datetime) -> Reading:
    if found is None:
        return None, problem
    if found < EARLIEST:
        return None, f"{found.isoformat()} is before {EARLIEST:%Y-%m-%d}"
    if found > now + AHEAD:
        return None, f"{found.isoformat()} is more than a day after now ({now.replace(microsecond=0).isoformat()} UTC)"
    return found, None


def _shown(value: int | float) -> str:
    """A number as a message repeats it: at most 24 characters (a client's integer may have thousands of digits)."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:20]}...({len(text)} digits)"


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
