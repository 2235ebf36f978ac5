"""A period of monitored time: where it starts and ends, and on which clock.

Every logged row has an arrival time (`logged_at`, when Vigil answered it) and may have an event
time (when what it scores happened, as the client said). A period on the `event` axis selects rows by
their event time, falling back to arrival time for rows that carry none; on the `arrival` axis, by
arrival time only. Periods are half-open: [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Axis = Literal["event", "arrival"]
AXES: tuple[Axis, ...] = ("event", "arrival")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    axis: Axis = "arrival"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts ({self.start} .. {self.end})")
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {', '.join(AXES)}, not {self.axis!r}")

    @classmethod
    def ending(cls, end: datetime, span: timedelta, axis: Axis = "arrival") -> Period:
        """The span that ends at `end` (the usual "last 24h" window)."""
        return cls(end - span, end, axis)

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def before(self, span: timedelta) -> Period:
        """The span just before this period, on the same axis (a reference window)."""
        return Period(self.start - span, self.start, self.axis)
