"""Multivariate drift: the band from the reference's chunks (exact values), a correlation flip that
univariate PSI cannot see, and stable data left alone."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import features_from
from appliance.monitoring.drift import numeric_drift
from appliance.monitoring.multivariate import chunk_drifts, judged, reference_band, window_drift
from appliance.monitoring.multivariate_check import from_bytes, reference_of, to_bytes


def test_band_from_reference_chunks_exact_values() -> None:
    """Errors 0.1 .. 2.0 in chunks of 2: chunk means 0.15, 0.35, .., 1.95 (mean 1.05, population std
    0.2 * sqrt(99/12)); the lower bound falls below zero, so there is none."""
    reference = np.arange(1, 21) / 10
    band = reference_band(reference, 2)
    std = 0.2 * math.sqrt(99 / 12)
    assert band is not None and (band.chunks, band.chunk_rows) == (10, 2)
    assert band.mean == pytest.approx(1.05, abs=1e-15) and band.std == pytest.approx(std, rel=1e-14)
    assert band.lower is None and band.upper == pytest.approx(1.05 + 3 * std, rel=1e-14)
    result = judged(np.array([2.5, 3.5]), band)
    assert result.reconstruction_error == 3.0 and result.verdict == "warning" and result.alert
    assert result.sampling_error == pytest.approx(math.sqrt(0.5) / math.sqrt(2), rel=1e-14)
    assert result.sigmas == pytest.approx((3.0 - 1.05) / std, rel=1e-14)
    assert result.lower_confidence == pytest.approx(3.0 - 1.5, rel=1e-14)


def test_band_uses_at_most_a_tenth_of_the_reference_per_chunk_and_drops_the_rest() -> None:
    reference = np.concatenate([np.full(50, 1.0), np.full(50, 3.0), [100.0] * 7])  # 107 rows
    band = reference_band(reference, 1000)  # the window is larger than the reference: chunks of 10
    assert band is not None and (band.chunks, band.chunk_rows) == (10, 10)
    assert band.mean == 2.0 and band.std == 1.0 and band.lower is None and band.upper == 5.0
    assert reference_band(np.ones(9), 5) is None  # fewer than 10 rows
    assert reference_band(np.ones(100), 5) is None  # chunk means that never vary give no band
    assert window_drift(np.array([1.0]), np.ones(100)).verdict == "inconclusive"
    assert window_drift(np.array([]), reference).verdict == "inconclusive"


def test_chunks_are_judged_against_the_band_of_their_size() -> None:
    rng = np.random.default_rng(5)
    reference = rng.gamma(4.0, 0.25, size=10_000)
    errors = np.concatenate([rng.gamma(4.0, 0.25, size=2500), rng.gamma(4.0, 0.35, size=2500)])
    chunks = chunk_drifts(errors, reference, 500)
    band = reference_band(reference, 500)
    assert [c.rows for c in chunks] == [500] * 10 and all(c.band == band for c in chunks)
    assert [c.verdict for c in chunks] == ["ok"] * 5 + ["warning"] * 5
    assert chunks[7].reconstruction_error == pytest.approx(float(errors[3500:4000].mean()), rel=1e-15)


def _pair(rng: np.random.Generator, rows: int, correlation: float) -> pl.DataFrame:
    """Two standard normal features with the given correlation, and a third independent one."""
    x = rng.normal(size=rows)
    y = correlation * x + math.sqrt(1 - correlation ** 2) * rng.normal(size=rows)
    return pl.DataFrame({"x": x, "y": y, "z": rng.normal(size=rows),
                         "kind": rng.choice(["a", "b"], size=rows).tolist()})


FEATURES = features_from(["x", "y", "z"], ["kind"])


def test_a_correlation_flip_invisible_to_psi_is_flagged() -> None:
    rng = np.random.default_rng(11)
    training = _pair(rng, 20_000, 0.9)
    reference = reference_of(training, FEATURES)
    flipped = _pair(rng, 2000, -0.9)  # each feature alone: the same standard normal
    for name in ("x", "y", "z"):
        univariate = numeric_drift(training[name].to_numpy(), flipped[name].to_numpy())
        assert univariate.verdict == "ok" and univariate.psi < 0.1, (name, univariate.psi)
    result = window_drift(reference.fit.errors(flipped), reference.errors)
    assert result.verdict == "warning" and result.sigmas is not None and result.sigmas > 20
    assert result.band is not None and result.reconstruction_error is not None
    assert result.reconstruction_error > result.band.upper


def test_stable_data_is_not_flagged() -> None:
    rng = np.random.default_rng(12)
    reference = reference_of(_pair(rng, 20_000, 0.9), FEATURES)
    verdicts = [window_drift(reference.fit.errors(_pair(rng, 1000, 0.9)), reference.errors).verdict
                for _ in range(20)]
    assert verdicts.count("ok") >= 19  # 3 standard deviations: about 3 windows in 1000 by chance


def test_a_stored_reference_scores_as_the_fitted_one() -> None:
    rng = np.random.default_rng(13)
    reference = reference_of(_pair(rng, 3000, 0.5), FEATURES)
    again = from_bytes(to_bytes(reference))
    window = _pair(rng, 300, 0.5)
    assert np.array_equal(again.errors, reference.errors)
    assert np.array_equal(again.fit.errors(window), reference.fit.errors(window))


def test_the_docstring_examples_hold() -> None:
    import doctest

    from appliance.monitoring import multivariate, reconstruction

    for module in (multivariate, reconstruction):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__
