"""Splitting a period into chunks, as NannyML's chunkers do: by calendar period (`1d`, `1w`, `1M`,
`1y`; also `6h`, `30m`), by size (`rows:10000`) or by count (`chunks:12`).

A chunk is itself a Period on the same axis, so every monitoring check runs on it unchanged.

- By period, chunks are calendar units in UTC: days from midnight, weeks from Monday (ISO weeks, as
  pandas' `W` periods that NannyML groups by), calendar months, calendar years; `N` units start at
  the unit holding the period's start. The first and last chunk are clipped to the period, and a unit
  without rows is still a chunk (it shows as a gap, with 0 rows).
- By size, every chunk holds `N` rows in time order and the last keeps the remainder (NannyML's
  `incomplete='keep'`). Chunks are spans of time, so rows sharing one time are never split: a
  boundary falling inside such a tie moves past it (the chunk keeps the whole tie), and a chunk left
  empty by that is dropped; a chunk may then hold more than `N` rows, and the last fewer.
- By count, `N` chunks whose sizes differ by at most one row (the first `rows % N` hold one more),
  instead of NannyML's `rows // N`-row chunks plus a remainder chunk (which makes `N + 1` chunks);
  the same rule for ties applies.

>>> from datetime import datetime
>>> p = Period(datetime(2016, 1, 15), datetime(2016, 3, 10), "event")
>>> [(c.start.day, c.start.month, c.end.day, c.end.month) for c in period_chunks(p, parse_chunk("1M"))]
[(15, 1, 1, 2), (1, 2, 1, 3), (1, 3, 10, 3)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Sequence

from appliance.core.periods import Period
from appliance.errors import MonitoringError

ChunkKind = Literal["period", "rows", "chunks"]
MAX_CHUNKS = 5000  # more chunks than this in one run is almost surely a typo (1m over a year)
_PERIOD = re.compile(r"^([1-9][0-9]{0,4})([mhdwMy])$")
_SIZED = re.compile(r"^(rows|chunks):([1-9][0-9]{0,9})$")
_UNIT_NAMES = {"m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "y": "year"}


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """How to chunk: `count` units of `unit` (kind `period`), `count` rows (`rows`) or `count` chunks (`chunks`)."""

    kind: ChunkKind
    count: int
    unit: str = ""

    def __str__(self) -> str:
        return f"{self.count}{self.unit}" if self.kind == "period" else f"{self.kind}:{self.count}"


def parse_chunk(text: str) -> ChunkSpec:
    """'1M' -> calendar months, 'rows:10000' -> by size, 'chunks:12' -> by count.

    >>> parse_chunk("2w"), parse_chunk("rows:500")
    (ChunkSpec(kind='period', count=2, unit='w'), ChunkSpec(kind='rows', count=500, unit=''))
    """
    clean = text.strip()
    found = _PERIOD.match(clean)
    if found:
        return ChunkSpec("period", int(found.group(1)), found.group(2))
    sized = _SIZED.match(clean)
    if sized:
        return ChunkSpec("rows" if sized.group(1) == "rows" else "chunks", int(sized.group(2)))
    raise MonitoringError(f"chunk '{text}' is not a period (30m, 6h, 1d, 1w, 1M, 1y), rows:N or chunks:N")


def unit_start(moment: datetime, unit: str) -> datetime:
    """The start of the calendar unit holding `moment` (weeks start on Monday)."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    if unit == "h":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":
        return day - timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=1)
    if unit == "y":
        return day.replace(month=1, day=1)
    raise MonitoringError(f"unknown chunk unit '{unit}'")


def add_units(moment: datetime, unit: str, count: int) -> datetime:
    """`moment` moved on by `count` units (months and years on the calendar, from a unit's start)."""
    if unit in ("m", "h", "d", "w"):
        return moment + timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: count})
    months = count * (12 if unit == "y" else 1)
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def period_chunks(period: Period, spec: ChunkSpec) -> list[Period]:
    """The calendar chunks covering the period, the first and last clipped to it."""
    edge = unit_start(period.start, spec.unit)
    found: list[Period] = []
    while edge < period.end:
        following = _next_edge(edge, spec, period.end)
        found.append(Period(max(edge, period.start), min(following, period.end), period.axis))
        if len(found) > MAX_CHUNKS:
            raise MonitoringError(f"chunks of {spec.count} {_UNIT_NAMES[spec.unit]}(s) cut this period into more than "
                                  f"{MAX_CHUNKS}; choose a longer chunk")
        edge = following
    return found


def _next_edge(edge: datetime, spec: ChunkSpec, end: datetime) -> datetime:
    """The start of the chunk after the one starting at `edge`; `end` when that lies past year 9999 (the
    last chunk of a period reaching the calendar's end, or a chunk of 99999 years)."""
    try:
        return add_units(edge, spec.unit, spec.count)
    except (ValueError, OverflowError):
        return end


def row_boundaries(sizes: Sequence[int], times: Sequence[datetime], counts: Sequence[int]) -> list[int]:
    """Indexes into `times` (distinct row times in order, `counts` rows at each) where each chunk starts,
    for chunks meant to hold `sizes` rows: a wanted boundary inside a tie moves past the tie, to the next
    time (so a chunk holds at least its rows, and the tie)."""
    starts: list[int] = []
    cumulative = 0  # rows before times[index]
    index = 0
    wanted = 0
    for size in sizes:
        while index < len(times) and cumulative < wanted:
            cumulative += counts[index]
            index += 1
        if index < len(times) and (not starts or index > starts[-1]):
            starts.append(index)
        wanted += size
    return starts


def sized_chunks(period: Period, spec: ChunkSpec, times: Sequence[datetime], counts: Sequence[int]) -> list[Period]:
    """Chunks by size (`rows:N`) or count (`chunks:N`) over the period's rows, given their distinct
    times in order and how many rows share each. The first chunk starts at the period's start and the
    last ends at its end, so together they cover it."""
    total = sum(counts)
    if total == 0:
        return []
    sizes = _sizes(spec, total)
    starts = row_boundaries(sizes, times, counts)
    edges = [period.start, *(times[i] for i in starts[1:]), period.end]
    if len(edges) - 1 > MAX_CHUNKS:
        raise MonitoringError(f"{spec} cuts this period into more than {MAX_CHUNKS} chunks; choose larger chunks")
    return [Period(a, b, period.axis) for a, b in zip(edges, edges[1:])]


def _sizes(spec: ChunkSpec, total: int) -> list[int]:
    if spec.kind == "rows":
        return [spec.count] * (total // spec.count) + ([total % spec.count] if total % spec.count else [])
    chunks = min(spec.count, total)
    base, extra = divmod(total, chunks)
    return [base + 1] * extra + [base] * (chunks - extra)
