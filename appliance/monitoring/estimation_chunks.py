"""How `vigil estimate --chunk` cuts a period's rows (in time order), in the chunk syntax every monitoring
command takes (monitoring/chunking.py): calendar periods (`1d`, `1w`, `1M`), chunks of N rows (`rows:N`,
the remainder a last smaller chunk, as NannyML's size chunker keeps it) or N chunks (`chunks:N`, sizes
differing by at most one row). Estimation cuts rows it already holds, so a `rows:N` chunk is exactly N
rows even where several rows share one time. The reference is cut the same way for the alert band.

Example:
    >>> row_slices(parse_chunk("rows:4"), 10)
    [(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from appliance.core.periods import Period
from appliance.errors import MonitoringError
from appliance.estimation.performance import Chunker, Part, WholePeriod
from appliance.monitoring.chunking import MAX_CHUNKS, ChunkSpec, parse_chunk, period_chunks

Slices = list[tuple[int, int]]


def chunker(text: str | None) -> Chunker:
    """The whole period (no text, or 'whole'), else the chunks `text` names."""
    if text is None or text.strip() in ("", "whole"):
        return WholePeriod()
    return SpecChunker(parse_chunk(text))


@dataclass(frozen=True)
class SpecChunker:
    spec: ChunkSpec

    @property
    def text(self) -> str:
        return str(self.spec)

    def parts(self, frame: pl.DataFrame, period: Period) -> list[Part]:
        """(chunk start, chunk end, its rows); a calendar chunk without rows is left out."""
        if self.spec.kind == "period":
            times = frame["(at)"].cast(pl.Datetime("us")).to_numpy()
            return [(chunk.start, chunk.end, frame[a:b]) for chunk, a, b in period_parts(self.spec, period, times)
                    if b > a]
        at = frame["(at)"]
        return [(at[a], at[b - 1], frame[a:b]) for a, b in row_slices(self.spec, frame.height)]

    def reference_slices(self, times: np.ndarray) -> Slices:
        if self.spec.kind != "period":
            return row_slices(self.spec, len(times))
        if not len(times):
            return []
        whole = Period(_moment(times.min()), _moment(times.max()) + timedelta(microseconds=1), "event")
        return [(a, b) for _, a, b in period_parts(self.spec, whole, times) if b > a]


def row_slices(spec: ChunkSpec, rows: int) -> Slices:
    """[start, end) row ranges of a `rows:N` or `chunks:N` chunking."""
    if rows == 0:
        return []
    if spec.kind == "rows":
        if rows // spec.count > MAX_CHUNKS:
            raise MonitoringError(f"{rows} rows in chunks of {spec.count} is more than {MAX_CHUNKS} chunks")
        return [(start, min(start + spec.count, rows)) for start in range(0, rows, spec.count)]
    chunks = min(spec.count, rows)
    base, extra = divmod(rows, chunks)
    edges = np.cumsum([0] + [base + 1] * extra + [base] * (chunks - extra))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def period_parts(spec: ChunkSpec, period: Period, times: np.ndarray) -> list[tuple[Period, int, int]]:
    """Calendar chunks of the period with the [first, end) rows of sorted `times` in each."""
    chunks = period_chunks(period, spec)
    edges = np.asarray([np.datetime64(c.start, "us") for c in chunks] + [np.datetime64(period.end, "us")])
    bounds = np.searchsorted(np.asarray(times, dtype="datetime64[us]"), edges, side="left")
    return [(chunk, int(bounds[i]), int(bounds[i + 1])) for i, chunk in enumerate(chunks)]


def _moment(value: Any) -> datetime:
    found = np.asarray(value, dtype="datetime64[us]").astype(datetime).item()
    assert isinstance(found, datetime)
    return found
