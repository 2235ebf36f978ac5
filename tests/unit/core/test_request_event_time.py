"""The one reading of a client's event time (core/request_event_time.py): exact values for every accepted form,
and the problem named for every refused one."""

from __future__ import annotations

from datetime import datetime

import pytest

from appliance.core.request_event_time import read, read_all

NOW = datetime(2024, 6, 1, 12, 0)


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-01-05T10:00:00+01:00", datetime(2024, 1, 5, 9, 0)),        # an offset is converted to UTC
    ("2024-01-05T10:00:00Z", datetime(2024, 1, 5, 10, 0)),
    ("2024-01-05T10:00:00", datetime(2024, 1, 5, 10, 0)),             # naive: UTC already
    ("2024-01-05", datetime(2024, 1, 5)),
    ("2024-01-05 23:30:00-02:30", datetime(2024, 1, 6, 2, 0)),
    ("20240105T100000Z", datetime(2024, 1, 5, 10, 0)),                # ISO basic format
    ("2024-01-05T10:00:00.123456789Z", datetime(2024, 1, 5, 10, 0, 0, 123456)),  # cut to microseconds
    (1704067200, datetime(2024, 1, 1)),
    (1704067200.25, datetime(2024, 1, 1, 0, 0, 0, 250000)),
    (-2208988800, datetime(1900, 1, 1)),                              # the earliest accepted
    ("1900-01-01T00:00:00", datetime(1900, 1, 1)),
    ("2024-06-02T12:00:00", datetime(2024, 6, 2, 12, 0)),             # a day ahead of now, still accepted
])
def test_accepted_forms_read_exactly(value: object, expected: datetime) -> None:
    assert read(value, NOW) == (expected, None)


@pytest.mark.parametrize(("value", "words"), [
    (True, "not a boolean"),
    (None, "not null"),
    ([1], "not a list"),
    ({"t": 1}, "not an object"),
    (float("nan"), "finite"),
    (float("inf"), "finite"),
    ("yesterday", "is not an ISO-8601"),
    ("2024-02-30", "is not an ISO-8601"),
    ("２０２４-01-05", "ASCII"),
    ("2" * 65, "at most 64"),
    ("1899-12-31T23:59:59", "before 1900-01-01"),
    (-2208988801, "before 1900-01-01"),
    ("2024-06-02T12:00:01", "more than a day after now"),
    (1717243201 + 86400, "more than a day after now"),
    (1717243200000, "milliseconds?"),
    (10**400, "...(401 digits)"),
    ("0001-01-01T00:00:00+01:00", "outside the years 1 to 9999"),
])
def test_refused_values_say_why(value: object, words: str) -> None:
    found, problem = read(value, NOW)
    assert found is None and problem is not None and words in problem, problem


def test_read_all_keeps_nulls_as_rows_without_a_time_and_names_bad_positions() -> None:
    times, problems = read_all(["2024-01-05", None, "soon", 0, True], NOW)
    assert times == [datetime(2024, 1, 5), None, None, datetime(1970, 1, 1), None]
    assert [position for position, _ in problems] == [2, 4]
