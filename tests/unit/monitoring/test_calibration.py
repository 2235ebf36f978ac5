"""Drift thresholds calibrated to a false-page budget (appliance/monitoring/calibration.py): a stable
model checked many times pages at the budgeted rate or less, a noisy feature gets a higher threshold
than a stable one, and real drift still pages. Seeded data, exact values."""

from __future__ import annotations

import numpy as np
import polars as pl

from appliance.monitoring.calibrated_bands import reference_codes, window_bucket
from appliance.monitoring.calibration import Budget, chance_threshold, chance_thresholds
from appliance.monitoring.drift import Bands
from appliance.monitoring.profile import CategoricalProfile, NumericProfile, Profile

WINDOW = 100  # rows per monitoring window
WINDOWS = 2000  # windows checked: the whole budget period
CHECKS_PER_DAY = 96.0


def _wandering(rng: np.random.Generator, blocks: int, spread: float) -> np.ndarray:
    """A numeric feature whose mean wanders from one window to the next (N(0, spread) per window)."""
    return np.concatenate([rng.normal(rng.normal(0, spread), 1.0, WINDOW) for _ in range(blocks)])


def _categorical(rng: np.random.Generator, rows: int) -> list[str]:
    return list(rng.choice(["a", "b", "c", "d"], size=rows, p=[0.4, 0.3, 0.2, 0.1]))


def _bands(profile: Profile, column: list[object] | np.ndarray, budget: Budget) -> Bands:
    codes, bins = reference_codes(profile, pl.Series(column))
    psi_w, psi_c = chance_thresholds(codes, bins, WINDOW, (budget.warning_rate, budget.critical_rate), "psi")
    js_w, js_c = chance_thresholds(codes, bins, WINDOW, (budget.warning_rate, budget.critical_rate), "js")
    return Bands(psi_w.value, psi_c.value, js_w.value, js_c.value)


def _pages(profiles: dict[str, Profile], windows: list[dict[str, object]], bands: dict[str, Bands]) -> int:
    """Windows with at least one critical verdict: what would page."""
    return sum(any(profiles[name].drift(values, bands[name]).verdict == "critical"  # type: ignore[arg-type]
                   for name, values in window.items()) for window in windows)


def test_a_stable_model_pages_within_its_budget_where_fixed_bands_page_often() -> None:
    rng = np.random.default_rng(5)
    numeric = _wandering(rng, 200, 0.15)
    categories = _categorical(rng, len(numeric))
    profiles: dict[str, Profile] = {"x": NumericProfile.of(numeric), "c": CategoricalProfile.of(categories)}
    budget = Budget(days=WINDOWS / CHECKS_PER_DAY, checks_per_day=CHECKS_PER_DAY, tests=2 * len(profiles))
    calibrated = {"x": _bands(profiles["x"], numeric, budget), "c": _bands(profiles["c"], categories, budget)}
    windows = [{"x": _wandering(rng, 1, 0.15), "c": _categorical(rng, WINDOW)} for _ in range(WINDOWS)]
    assert budget.critical_rate == 1 / (WINDOWS * 4)
    assert _pages(profiles, windows, calibrated) == 0  # at most 1 expected in the budget period
    assert _pages(profiles, windows, {"x": Bands(), "c": Bands()}) == 114  # the fixed bands, same windows
    assert round(calibrated["x"].psi_critical, 4) == 1.215 and round(calibrated["c"].psi_critical, 4) == 0.2919


def test_a_noisy_feature_gets_a_higher_threshold_than_a_stable_one() -> None:
    rng = np.random.default_rng(6)
    stable, noisy = _wandering(rng, 200, 0.0), _wandering(rng, 200, 0.3)
    rate = 1e-4
    calm = chance_threshold(reference_codes(NumericProfile.of(stable), pl.Series(stable))[0], 11,
                            window_rows=WINDOW, rate=rate, metric="psi")
    wild = chance_threshold(reference_codes(NumericProfile.of(noisy), pl.Series(noisy))[0], 11,
                            window_rows=WINDOW, rate=rate, metric="psi")
    assert (calm.method, wild.method) == ("modelled", "modelled") and (calm.chunks, wild.chunks) == (200, 200)
    assert round(calm.value, 4) == 0.8398 and round(wild.value, 4) == 2.5098
    assert round(calm.wander or 0, 4) == 0.0 and round(wild.wander or 0, 4) == 0.1015


def test_real_drift_still_pages() -> None:
    rng = np.random.default_rng(7)
    numeric = _wandering(rng, 200, 0.15)
    profile = NumericProfile.of(numeric)
    budget = Budget(days=30, checks_per_day=CHECKS_PER_DAY, tests=2)
    bands = _bands(profile, numeric, budget)
    moved = profile.drift(rng.normal(1.5, 1.0, WINDOW), bands)
    assert moved.verdict == "critical" and moved.psi > bands.psi_critical
    assert profile.drift(rng.normal(0.0, 1.0, WINDOW), bands).verdict == "ok"


def test_small_references_fall_back_to_the_sampling_null_and_constant_columns_to_the_fixed_bands() -> None:
    rng = np.random.default_rng(8)
    few = rng.integers(0, 10, size=500)  # 5 chunks of 100 rows: too few to measure how the column wanders
    analytic = chance_threshold(few, 10, window_rows=WINDOW, rate=1e-4, metric="psi")
    assert analytic.method == "analytic" and analytic.wander == 0.0 and analytic.chunks == 5
    assert chance_threshold(np.zeros(1000, dtype=np.int64), 3, window_rows=WINDOW, rate=1e-4,
                            metric="js").method == "fixed"
    many = rng.integers(0, 4, size=200_000)  # 2,000 chunks of 100: a warning rate of 1/200 is read off them
    assert chance_threshold(many, 4, window_rows=WINDOW, rate=1 / 200, metric="psi").method == "empirical"


def test_windows_share_calibrations_by_size_rounded_down() -> None:
    assert [window_bucket(n) for n in (1, 2, 3, 60, 64, 90, 91, 1000)] == [1, 2, 2, 45, 64, 64, 90, 724]
