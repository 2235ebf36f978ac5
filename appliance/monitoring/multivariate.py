"""Multivariate drift of a window: its mean PCA reconstruction error against a band drawn from the
reference's own chunks, as NannyML's DataReconstructionDriftCalculator judges a chunk.

The reference's row errors (in time order) are cut into consecutive chunks of the window's size
(at most a tenth of the reference, so there are always at least `MIN_REFERENCE_CHUNKS` chunks; an
incomplete last chunk is left out). The band is the mean of the chunks' mean errors plus and minus
`SIGMAS` (3) times their standard deviation; a lower bound at or below zero is no bound. A window
outside the band, or on its edge, is drift. Because the chunks have the window's size, the band is
as wide as chance makes a window of that size vary, whatever the traffic.

The sampling error of a window's mean error is its rows' standard deviation over √rows; the
confidence bounds are the mean plus and minus three of them (the lower one not below zero).

>>> rng = np.random.default_rng(1)
>>> reference = rng.gamma(4.0, 0.25, size=20_000)
>>> window_drift(rng.gamma(4.0, 0.25, size=500), reference).verdict
'ok'
>>> window_drift(rng.gamma(4.0, 0.3, size=500), reference).verdict
'warning'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SIGMAS = 3.0
MIN_REFERENCE_CHUNKS = 10
DRIFT = "warning"  # the verdict of a window outside the band
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Band:
    """The reference's chunk means: their mean, standard deviation (ddof 0), and the band they give."""

    mean: float
    std: float
    lower: float | None
    upper: float
    chunks: int
    chunk_rows: int


@dataclass(frozen=True, slots=True)
class ReconstructionDrift:
    rows: int
    reconstruction_error: float | None
    sampling_error: float | None
    lower_confidence: float | None
    upper_confidence: float | None
    band: Band | None
    sigmas: float | None  # |error - band mean| / band std: how far out, in the reference's own spread
    verdict: str  # ok, warning (outside the band) or inconclusive (no band to judge by)

    @property
    def alert(self) -> bool:
        return self.verdict == DRIFT

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def reference_band(reference_errors: np.ndarray, chunk_rows: int, sigmas: float = SIGMAS) -> Band | None:
    """The band for windows of `chunk_rows` rows; None when the reference cannot give one (fewer than
    `MIN_REFERENCE_CHUNKS` rows, or chunk means that never vary)."""
    rows = min(chunk_rows, reference_errors.size // MIN_REFERENCE_CHUNKS)
    if rows < 1:
        return None
    chunks = reference_errors.size // rows
    means = reference_errors[:chunks * rows].reshape(chunks, rows).mean(axis=1)
    mean, std = float(np.mean(means)), float(np.std(means))
    if not std > 0:
        return None
    lower = mean - sigmas * std
    return Band(mean, std, lower if lower > 0 else None, mean + sigmas * std, chunks, rows)


def window_drift(errors: np.ndarray, reference_errors: np.ndarray, sigmas: float = SIGMAS) -> ReconstructionDrift:
    """A window's mean error judged against the reference band for its size."""
    if errors.size == 0:
        return ReconstructionDrift(0, None, None, None, None, None, None, INCONCLUSIVE)
    return judged(errors, reference_band(reference_errors, errors.size, sigmas))


def judged(errors: np.ndarray, band: Band | None) -> ReconstructionDrift:
    """A chunk's mean error, sampling error and verdict against a given band."""
    value = float(np.mean(errors))
    sampling = float(np.std(errors, ddof=1) / math.sqrt(errors.size)) if errors.size > 1 else None
    lower_ci = None if sampling is None else max(value - SIGMAS * sampling, 0.0)
    upper_ci = None if sampling is None else value + SIGMAS * sampling
    if band is None:
        return ReconstructionDrift(errors.size, value, sampling, lower_ci, upper_ci, None, None, INCONCLUSIVE)
    lower = band.lower if band.lower is not None else -math.inf
    inside = lower < value < band.upper
    return ReconstructionDrift(errors.size, value, sampling, lower_ci, upper_ci, band,
                               abs(value - band.mean) / band.std, "ok" if inside else DRIFT)


def chunk_drifts(errors: np.ndarray, reference_errors: np.ndarray, chunk_rows: int) -> list[ReconstructionDrift]:
    """Consecutive chunks of `chunk_rows` rows (the last one may be shorter), each judged against the
    band for `chunk_rows`: NannyML's size-based chunking of an analysis set."""
    band = reference_band(reference_errors, chunk_rows)
    return [judged(errors[start:start + chunk_rows], band) for start in range(0, errors.size, chunk_rows)]
