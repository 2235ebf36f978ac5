"""The event times of one scoring request, whichever way it gave them, as one per row.

A request may give an event time for all its rows (the native API's `event_time`, MLflow's
`params.event_time`, the Open Inference Protocol's `parameters.event_time`), one per row (the native
API's `event_times`), or a column of its rows named by the model's `serving.event_time_column`
(read with the rows, `request_frame`). One request uses one of these ways: two are refused, naming
both, rather than one silently winning. The times themselves are read by `core.request_event_time`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appliance.clock import utc_now
from appliance.core import request_event_time
from appliance.errors import InvalidRequest

Times = list[datetime | None]


@dataclass(frozen=True, slots=True)
class RequestTimes:
    """Times a request gave beside its rows: `every_row` for all of them, or `per_row` (None: that row has
    none). `field` is where the request gave them, for error messages."""

    field: str
    every_row: datetime | None = None
    per_row: tuple[datetime | None, ...] | None = None

    def for_rows(self, rows: int) -> Times:
        if self.per_row is None:
            return [self.every_row] * rows
        if len(self.per_row) != rows:
            raise _invalid(self.field, f"has {len(self.per_row)} times for {rows} rows; send one per row")
        return list(self.per_row)


def given(field: str, value: Any) -> RequestTimes | None:
    """A time given for every row (`value` as the client sent it; None: not given), or InvalidRequest naming `field`."""
    if value is None:
        return None
    found, problem = request_event_time.read(value, utc_now())
    if problem is not None:
        raise _invalid(field, problem)
    return RequestTimes(field, every_row=found)


def for_rows(request: RequestTimes | None, column: Times | None, column_field: str, rows: int) -> Times | None:
    """Each row's event time (None: the request gave none); a request giving times two ways is refused."""
    if request is not None and column is not None:
        raise _invalid(request.field, f"given twice: the rows also carry event times in {column_field}; send one")
    if column is not None:
        return column
    return request.for_rows(rows) if request is not None else None


def _invalid(field: str, problem: str) -> InvalidRequest:
    kind = request_event_time.KIND
    return InvalidRequest(f"{field}: {problem}", [{"field": field, "problem": problem, "kind": kind}], reason=kind)
