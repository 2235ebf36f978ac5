"""A reference profile gives exactly the drift of the raw reference rows (scipy's KS included)."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.monitoring.drift import categorical_drift, numeric_drift
from appliance.monitoring.profile import CategoricalProfile, NumericProfile, from_bytes, ks_sorted, to_bytes


@pytest.mark.parametrize("n_ref,n_cur,shift", [(30_000, 12_000, 0.0), (50_000, 20_000, 0.3), (2_000, 900, 0.5)])
def test_numeric_profile_equals_raw_rows(n_ref: int, n_cur: int, shift: float) -> None:
    rng = np.random.default_rng(n_ref)
    reference = np.round(rng.normal(size=n_ref), 2)  # rounding makes ties, as real data has
    current = np.round(rng.normal(loc=shift, scale=1.2, size=n_cur), 2)
    reference[rng.choice(n_ref, n_ref // 50, replace=False)] = np.nan
    current[rng.choice(n_cur, n_cur // 10, replace=False)] = np.nan
    raw = numeric_drift(reference, current)
    profiled = NumericProfile.of(reference).drift(current)
    assert profiled == raw  # every field, bit for bit: PSI, JS, KS statistic and p-value, bins, quantiles


def test_ks_on_sorted_samples_is_scipys() -> None:
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(1)
    for _ in range(5):
        ref = np.sort(rng.integers(0, 50, size=40_000).astype(float))  # heavy ties
        cur = np.sort(rng.integers(3, 55, size=15_000).astype(float))
        expected = ks_2samp(ref, cur)
        assert ks_sorted(ref, cur) == (float(expected.statistic), float(expected.pvalue))
        assert ks_sorted(cur, ref) == (float(ks_2samp(cur, ref).statistic), float(ks_2samp(cur, ref).pvalue))


def test_categorical_profile_equals_raw_rows_and_survives_storage() -> None:
    reference = ["a", "b", "b", None, "c"] * 400
    current = ["a", "a", "d", None, None, "b"] * 100
    profile = CategoricalProfile.of(reference)
    assert profile.drift(current) == categorical_drift(reference, current)
    numeric = NumericProfile.of(np.arange(100.0))
    stored = from_bytes(to_bytes({"x": numeric, "y": profile}))
    assert stored["y"].drift(current) == categorical_drift(reference, current)
    assert np.array_equal(stored["x"].sorted_values, numeric.sorted_values)  # type: ignore[union-attr]
