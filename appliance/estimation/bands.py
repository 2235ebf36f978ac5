"""An estimate's two bands: its confidence band (the estimate -/+ 3 sampling errors) and the alert band
(the mean -/+ 3 standard deviations of the metric realized on the reference's chunks), each kept within
the metric's range, as NannyML draws them.

Example:
    >>> alert_band(np.array([0.80, 0.82, 0.84]), 0.0, 1.0)
    (0.7710102051443364, 0.8689897948556636)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLING_ERROR_RANGE = 3
STD_MULTIPLIER = 3


@dataclass(frozen=True, slots=True)
class Estimate:
    """One metric of one chunk: the estimate, its band, the alert band, whether it breaches it, and the
    metric realized on the chunk's labels when enough had arrived."""

    metric: str
    value: float | None
    sampling_error: float | None
    lower: float | None
    upper: float | None
    lower_threshold: float | None
    upper_threshold: float | None
    alert: bool
    realized: float | None = None

    def as_dict(self) -> dict[str, float | bool | str | None]:
        return {"metric": self.metric, "estimate": self.value, "sampling_error": self.sampling_error,
                "lower": self.lower, "upper": self.upper, "lower_threshold": self.lower_threshold,
                "upper_threshold": self.upper_threshold, "alert": self.alert, "realized": self.realized}


def alert_band(realized: np.ndarray, low: float | None, high: float | None) -> tuple[float | None, float | None]:
    """Mean -/+ 3 std of the reference chunks' realized values; a side beyond the metric's range is the
    range's end (NaN chunks are left out)."""
    values = np.asarray(realized, dtype=np.float64)
    if not np.isfinite(values).any():
        return None, None
    mean, std = float(np.nanmean(values)), float(np.nanstd(values))
    lower, upper = mean - STD_MULTIPLIER * std, mean + STD_MULTIPLIER * std
    if low is not None and lower <= low:
        lower = low
    if high is not None and upper >= high:
        upper = high
    return lower, upper


def estimate(metric: str, value: float | None, sampling_error: float | None, thresholds: tuple[float | None, float | None],
             low: float | None, high: float | None) -> Estimate:
    """The estimate with its confidence band and alert verdict."""
    if value is None or not np.isfinite(value):
        return Estimate(metric, None, sampling_error, None, None, *thresholds, False)
    error = sampling_error if sampling_error is not None and np.isfinite(sampling_error) else None
    lower = value - SAMPLING_ERROR_RANGE * error if error is not None else None
    upper = value + SAMPLING_ERROR_RANGE * error if error is not None else None
    if lower is not None and low is not None:
        lower = max(low, lower)
    if upper is not None and high is not None:
        upper = min(high, upper)
    below = thresholds[0] is not None and value < thresholds[0]
    above = thresholds[1] is not None and value > thresholds[1]
    return Estimate(metric, float(value), error, lower, upper, thresholds[0], thresholds[1], bool(below or above))
