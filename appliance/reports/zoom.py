"""The span a report's time charts show: the whole window, or — when the traffic fills only a small part
of it — the part that holds data, so a short burst is drawn across the chart instead of as a sliver of
a 7-day axis. A zoomed chart says so under its axis ("zoomed to 14:02–14:41 of the 7-day window").

Example (a 38-minute burst in a 7-day window, 1-minute buckets):

>>> from datetime import datetime, timedelta
>>> span = zoomed(datetime(2024, 5, 6, 14, 2), datetime(2024, 5, 6, 14, 40),
...               datetime(2024, 5, 1), datetime(2024, 5, 8), timedelta(minutes=1))
>>> (f"{span.start:%H:%M}", f"{span.end:%H:%M}")
('14:02', '14:41')
>>> span.note("7d")
'zoomed to 14:02–14:41 of the 7-day window'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

ZOOM_BELOW = 0.5  # zoom when the data's span is under half the window
MIN_SPAN = timedelta(minutes=10)  # a zoomed axis is never narrower than this
_ORIGIN = datetime(2000, 1, 3)  # where the store's time buckets start counting (a Monday midnight)
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}


@dataclass(frozen=True, slots=True)
class Span:
    """A chart's time axis [start, end); `zoomed` when it is a part of the report's window."""

    start: datetime
    end: datetime
    zoomed: bool = False

    def note(self, window: str) -> str:
        """What the axis shows, for a zoomed span ("" for the whole window)."""
        if not self.zoomed:
            return ""
        same_day = self.start.date() == (self.end - timedelta(microseconds=1)).date()
        shape = "%H:%M" if same_day else "%m-%d %H:%M"
        return f"zoomed to {self.start:{shape}}–{self.end:{shape}} of the {window_words(window)} window"

    def holds(self, at: datetime) -> bool:
        return self.start <= at <= self.end


def zoomed(first: datetime, last: datetime, start: datetime, end: datetime, step: timedelta) -> Span:
    """The axis for data whose first and last bucket start at `first` and `last` (`step`-long buckets)
    in the window [start, end): whole-bucket bounds around the data, at least MIN_SPAN wide (widened
    forward, or back from the window's end), when that spans under ZOOM_BELOW of the window; else the
    window itself."""
    low = _floor(first, step)
    high = max(_floor(last, step) + step, low + MIN_SPAN)
    if high > end:
        high = end
        low = min(low, _floor(end - MIN_SPAN, step))
    low = max(low, start)
    if (high - low) >= (end - start) * ZOOM_BELOW:
        return Span(start, end)
    return Span(low, high, zoomed=True)


def window_words(window: str) -> str:
    """"7d" -> "7-day", "24h" -> "24-hour" (a window as the report names it)."""
    number, unit = window[:-1], window[-1:]
    return f"{number}-{_UNITS[unit]}" if number.isdigit() and unit in _UNITS else window


def _floor(at: datetime, step: timedelta) -> datetime:
    """`at` rounded down to a whole `step` counted as the store's buckets are (a Monday midnight)."""
    origin = _ORIGIN.replace(tzinfo=at.tzinfo)
    return origin + step * math.floor((at - origin) / step)
