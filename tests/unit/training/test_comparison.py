"""appliance/training/comparison.py: paired bootstrap verdicts on seeded data."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.core.records import Comparison
from appliance.training.comparison import paired_bootstrap
from appliance.training.evaluation import roc_auc


def binary_case(seed: int = 5, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    strong = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)
    weak = rng.random(n)
    return y, strong, weak


def test_better_model_is_better_and_reverse_is_worse() -> None:
    y, strong, weak = binary_case()
    better = paired_bootstrap("binary", y, strong, weak, resamples=200, seed=1)
    assert better.verdict == "better"
    assert better.metric == "roc_auc" and better.higher_is_better
    assert better.version_value == pytest.approx(roc_auc(y, strong), abs=1e-12)
    assert better.difference == pytest.approx(roc_auc(y, strong) - roc_auc(y, weak), abs=1e-12)
    assert better.ci_low > 0 and better.ci_low < better.difference < better.ci_high
    assert (better.resamples, better.row_count, better.confidence) == (200, 400, 0.95)
    assert paired_bootstrap("binary", y, weak, strong, resamples=200, seed=1).verdict == "worse"


def test_equal_models_show_no_significant_difference() -> None:
    y, strong, _ = binary_case()
    rng = np.random.default_rng(9)
    noisy = np.clip(strong + rng.normal(0, 0.01, len(y)), 0, 1)
    found = paired_bootstrap("binary", y, strong, noisy, resamples=200, seed=2)
    assert found.verdict == "no significant difference"
    assert found.ci_low <= 0 <= found.ci_high


def test_same_seed_gives_the_same_interval() -> None:
    y, strong, weak = binary_case()
    first = paired_bootstrap("binary", y, strong, weak, resamples=100, seed=42)
    again = paired_bootstrap("binary", y, strong, weak, resamples=100, seed=42)
    other = paired_bootstrap("binary", y, strong, weak, resamples=100, seed=43)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_regression_lower_mae_is_better() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(0, 5, 300)
    close = y + rng.normal(0, 0.5, 300)
    far = y + rng.normal(0, 3, 300)
    found = paired_bootstrap("regression", y, close, far, resamples=200, seed=0)
    assert (found.metric, found.higher_is_better) == ("mae", False)
    assert found.difference == pytest.approx(np.mean(np.abs(y - close)) - np.mean(np.abs(y - far)), abs=1e-12)
    assert found.ci_high < 0
    assert found.verdict == "better"
    assert paired_bootstrap("regression", y, far, close, resamples=200, seed=0).verdict == "worse"


def test_one_class_holdout_is_undetermined() -> None:
    y = np.ones(20, dtype=int)
    found = paired_bootstrap("binary", y, np.linspace(0, 1, 20), np.full(20, 0.5), resamples=50)
    assert (found.difference, found.ci_low, found.ci_high) == (None, None, None)
    assert found.verdict == "undetermined"


def test_verdict_of_a_recorded_comparison() -> None:
    def comparison(low: float, high: float, higher_is_better: bool) -> Comparison:
        return Comparison("m", higher_is_better, 1.0, 1.0, 0.0, low, high, 0.95, 10, 10)

    assert comparison(0.1, 0.2, False).verdict == "worse"
    assert comparison(-0.2, -0.1, True).verdict == "worse"
    assert comparison(0.0, 0.2, True).verdict == "no significant difference"
