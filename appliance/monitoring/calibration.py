"""Drift thresholds calibrated to a false-page budget: how large a column's PSI or Jensen–Shannon
distance gets by chance, from the reference's own window-to-window variability.

A check compares a window of `m` rows with the whole reference (`n` rows), binned as the drift check
bins them (`codes`: each reference row's bin, in time order). Two things make a stable column's PSI
non-zero: sampling noise (a window of `m` rows never matches the reference's shares exactly) and the
column's own wandering from one stretch of time to the next. This module measures both:

- the **sampling null**: `draws` windows sampled from the reference's shares (multinomial), each
  scored with the drift check's own PSI and JS (empty bins and all); beyond what the draws can
  resolve, its tail is a chi-square with (occupied bins - 1) degrees of freedom scaled to the draws'
  highest quantile they resolve (1 - 5/draws), since PSI of two samples from one distribution is
  roughly (1/m + 1/n) x chi-square(bins - 1);
- the **wander**: the reference split into consecutive chunks of `m` rows, each compared with the
  rest; how far the chunks' mean lies above the sampling null's mean (at least 0) is the variability
  sampling does not explain.

A threshold for a chance rate `p` per check (one test of one column) is the chunks' own `1 - p`
quantile when at least 5 chunks lie beyond it (`empirical`). Otherwise (`modelled`) the chance value
is taken as sampling noise plus the wander times a chi-square with one degree of freedom — of all
ways to spread the same excess over directions, wandering in a single one (a mean that moves) has
the heaviest tail, so this errs high — and its `1 - p` quantile is bounded by the sum of the two
parts' `1 - p/2` quantiles (P(A + B > a + b) <= P(A > a) + P(B > b)). With fewer than `MIN_CHUNKS`
chunks the wander cannot be measured and the threshold is the sampling null's alone (`analytic`).
JS is handled on its square (a divergence, chi-square-like) and the threshold is its square root, at
most 1 (JS's largest value: such a column cannot page by JS at this window size).

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> codes = rng.integers(0, 10, size=20000)
>>> t = chance_threshold(codes, 10, window_rows=200, rate=1e-4, metric="psi")
>>> t.method, round(t.value, 3)
('modelled', 0.258)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.monitoring.drift import EPSILON

MIN_CHUNKS = 20  # with fewer chunks the wander is not measured: the sampling null alone (analytic)
TAIL_SAMPLES = 5  # chunks (or draws) beyond a quantile needed to read it off them directly
MAX_DRAW_CELLS = 4_000_000  # draws x bins of the sampling null
MAX_DRAWS = 20_000
MIN_DRAWS = 2_000
SEED = 20  # the sampling null is the same every time for the same reference


@dataclass(frozen=True, slots=True)
class ChanceThreshold:
    """The value a stable column exceeds by chance with probability `rate` per check."""

    value: float
    method: str  # empirical, modelled, analytic, or fixed (a constant column: nothing to calibrate)
    chunks: int
    wander: float | None  # the chunks' mean beyond sampling noise (on JS's square for js); None: not used
    degrees_freedom: int


@dataclass(frozen=True, slots=True)
class Budget:
    """At most one chance page per `days`, with `checks_per_day` scheduled checks, each testing `tests`
    values (columns x metrics); warnings may come `WARNING_FACTOR` times as often by chance."""

    days: float
    checks_per_day: float
    tests: int

    WARNING_FACTOR = 10.0

    @property
    def critical_rate(self) -> float:
        """Chance of one test exceeding its critical threshold in one check (union bound)."""
        return 1.0 / (self.days * self.checks_per_day * max(self.tests, 1))

    @property
    def warning_rate(self) -> float:
        return min(self.critical_rate * self.WARNING_FACTOR, 0.5)


def chance_thresholds(codes: np.ndarray, bins: int, window_rows: int, rates: tuple[float, ...],
                      metric: str) -> list[ChanceThreshold]:
    """The thresholds of `metric` ('psi' or 'js') at each chance rate, for windows of `window_rows` rows
    against a reference binned into `codes` (values 0..bins-1, in time order)."""
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes, minlength=bins).astype(np.float64)
    shares = counts / max(len(codes), 1)
    freedom = int((counts > 0).sum()) - 1
    if freedom < 1 or window_rows < 1:
        return [ChanceThreshold(float("nan"), "fixed", 0, None, max(freedom, 0)) for _ in rates]
    square = metric == "js"
    chunk_values = _chunk_statistics(codes, counts, window_rows, bins, metric)
    null_values = _sampling_null(shares, window_rows, metric, bins)
    if square:
        chunk_values, null_values = chunk_values ** 2, null_values ** 2
    wander = max(0.0, float(chunk_values.mean()) - float(null_values.mean())) if len(chunk_values) else 0.0
    found = []
    for rate in rates:
        value, method = _threshold(chunk_values, null_values, wander, freedom, rate)
        value = min(float(np.sqrt(value)), 1.0) if square else value  # a JS distance is at most 1
        found.append(ChanceThreshold(value, method, len(chunk_values),
                                     None if method == "empirical" else (wander if method == "modelled" else 0.0),
                                     freedom))
    return found


def chance_threshold(codes: np.ndarray, bins: int, *, window_rows: int, rate: float, metric: str) -> ChanceThreshold:
    """One threshold (see `chance_thresholds`)."""
    return chance_thresholds(codes, bins, window_rows, (rate,), metric)[0]


def _threshold(chunks: np.ndarray, null: np.ndarray, wander: float, freedom: int,
               rate: float) -> tuple[float, str]:
    from scipy.stats import chi2

    if len(chunks) * rate >= TAIL_SAMPLES:
        return float(np.quantile(chunks, 1 - rate)), "empirical"
    if len(chunks) < MIN_CHUNKS:
        return _null_quantile(null, freedom, 1 - rate), "analytic"
    half = rate / 2
    return _null_quantile(null, freedom, 1 - half) + wander * float(chi2.ppf(1 - half, 1)), "modelled"


def _null_quantile(null: np.ndarray, freedom: int, level: float) -> float:
    """The sampling null's quantile: read off the draws where they resolve it, else a chi-square tail
    scaled to the draws' highest resolvable quantile."""
    from scipy.stats import chi2

    if len(null) * (1 - level) >= TAIL_SAMPLES:
        return float(np.quantile(null, level))
    anchor = 1 - TAIL_SAMPLES / len(null)
    scale = float(np.quantile(null, anchor)) / float(chi2.ppf(anchor, freedom))
    return scale * float(chi2.ppf(level, freedom))


def _chunk_statistics(codes: np.ndarray, counts: np.ndarray, window_rows: int, bins: int,
                      metric: str) -> np.ndarray:
    """The metric of each run of `window_rows` consecutive reference rows against the other rows."""
    chunks = len(codes) // window_rows
    if chunks < 2:
        return np.array([])
    used = codes[: chunks * window_rows]
    cells = np.repeat(np.arange(chunks), window_rows) * bins + used
    chunk_counts = np.bincount(cells, minlength=chunks * bins).reshape(chunks, bins).astype(np.float64)
    rest = (counts - chunk_counts) / (len(codes) - window_rows)
    return _statistic(rest, chunk_counts / window_rows, metric)


def _sampling_null(shares: np.ndarray, window_rows: int, metric: str, bins: int) -> np.ndarray:
    """The metric of windows drawn from the reference's own shares: pure sampling noise."""
    draws = int(np.clip(MAX_DRAW_CELLS // max(bins, 1), MIN_DRAWS, MAX_DRAWS))
    rng = np.random.default_rng(SEED)
    sampled = rng.multinomial(window_rows, shares, size=draws).astype(np.float64) / window_rows
    return _statistic(np.broadcast_to(shares, sampled.shape), sampled, metric)


def _statistic(reference: np.ndarray, current: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise PSI (zeros replaced by EPSILON, as the drift check does) or JS distance (base 2)."""
    if metric == "psi":
        r = np.where(reference > 0, reference, EPSILON)
        c = np.where(current > 0, current, EPSILON)
        return np.asarray(((c - r) * np.log(c / r)).sum(axis=1))
    from scipy.spatial.distance import jensenshannon

    return np.asarray(jensenshannon(reference, current, base=2, axis=1))
