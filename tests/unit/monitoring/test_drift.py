"""Drift statistics against the textbook formulas, and one test per drift scenario."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from appliance.monitoring.drift import EPSILON, categorical_drift, numeric_drift

RNG = np.random.default_rng(42)
REFERENCE = RNG.normal(10, 2, size=20_000)


def _shares_by_hand(reference: np.ndarray, current: np.ndarray) -> tuple[list[float], list[float]]:
    edges = sorted(set(np.quantile(reference, [i / 10 for i in range(1, 10)]).tolist()))

    def shares(values: np.ndarray) -> list[float]:
        counts = [0] * (len(edges) + 2)
        for v in values:
            if math.isnan(v):
                counts[-1] += 1
            else:
                counts[sum(1 for e in edges if v > e)] += 1
        return [c / len(values) for c in counts]

    return shares(reference), shares(current)


def test_psi_and_js_match_the_formulas() -> None:
    current = np.concatenate([RNG.normal(10.5, 2.5, size=9_000), [np.nan] * 300])
    drift = numeric_drift(REFERENCE, current)
    r, c = _shares_by_hand(REFERENCE, current)
    expected_psi = sum((max(ci, EPSILON) - max(ri, EPSILON)) * math.log(max(ci, EPSILON) / max(ri, EPSILON))
                       for ri, ci in zip(r, c))
    m = [(ri + ci) / 2 for ri, ci in zip(r, c)]

    def kl(p: list[float], q: list[float]) -> float:
        return sum(pi * math.log2(pi / qi) for pi, qi in zip(p, q) if pi > 0)

    expected_js = math.sqrt(0.5 * kl(r, m) + 0.5 * kl(c, m))
    assert drift.psi == pytest.approx(expected_psi, abs=1e-9)
    assert drift.js == pytest.approx(expected_js, abs=1e-9)


def test_ks_matches_the_largest_ecdf_gap() -> None:
    current = RNG.normal(10.3, 2, size=3_000)
    drift = numeric_drift(REFERENCE, current)
    points = np.sort(np.concatenate([REFERENCE, current]))
    gap = np.max(np.abs(np.searchsorted(np.sort(REFERENCE), points, side="right") / len(REFERENCE)
                        - np.searchsorted(np.sort(current), points, side="right") / len(current)))
    assert drift.ks_stat == pytest.approx(gap, abs=1e-9)
    assert drift.ks_pvalue == pytest.approx(stats.ks_2samp(REFERENCE, current).pvalue, abs=1e-9)


def test_chi_square_matches_the_formula() -> None:
    reference = ["a"] * 500 + ["b"] * 300 + ["c"] * 200
    current = ["a"] * 420 + ["b"] * 330 + ["c"] * 250
    drift = categorical_drift(reference, current)
    table = np.array([[500, 300, 200], [420, 330, 250]], dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = ((table - expected) ** 2 / expected).sum()
    assert drift.chi2_pvalue == pytest.approx(stats.chi2.sf(statistic, df=2), abs=1e-9)


def test_no_drift_raises_nothing() -> None:
    drift = numeric_drift(REFERENCE, RNG.normal(10, 2, size=5_000))
    assert drift.verdict == "ok" and drift.psi < 0.02 and drift.js < 0.05
    assert categorical_drift(["x", "y"] * 2000, ["y", "x"] * 1000).verdict == "ok"


def test_mean_shift_is_critical_and_explained() -> None:
    drift = numeric_drift(REFERENCE, RNG.normal(12, 2, size=5_000))
    assert drift.verdict == "critical" and drift.psi > 0.25
    assert drift.top_bins[0].label.endswith(", inf]") and drift.top_bins[0].current_share > drift.top_bins[0].reference_share
    assert drift.quantiles["p50"][1] - drift.quantiles["p50"][0] == pytest.approx(2, abs=0.2)


def test_variance_change_moves_both_tails() -> None:
    drift = numeric_drift(REFERENCE, RNG.normal(10, 4, size=5_000))
    assert drift.verdict == "critical"
    labels = {b.label.split(",")[0] for b in drift.top_bins}
    assert "(-inf" in labels and any(b.label.endswith(", inf]") for b in drift.top_bins)
    assert drift.quantiles["p05"][1] < drift.quantiles["p05"][0] and drift.quantiles["p95"][1] > drift.quantiles["p95"][0]


def test_new_category_is_drift_with_counts() -> None:
    reference = ["JFK"] * 600 + ["LGA"] * 400
    current = ["JFK"] * 450 + ["LGA"] * 300 + ["ISP"] * 250
    drift = categorical_drift(reference, current)
    assert drift.new_categories == {"ISP": 250}
    assert drift.verdict == "critical" and drift.top_bins[0].label == "(unseen)"


def test_rising_missing_values_are_drift() -> None:
    current = RNG.normal(10, 2, size=5_000)
    current[:1_000] = np.nan
    drift = numeric_drift(REFERENCE, current)
    assert drift.missing_ref == 0 and drift.missing_cur == pytest.approx(0.2)
    assert drift.verdict == "critical" and drift.top_bins[0].label == "(missing)"
    texts = categorical_drift(["a", "b"] * 500, ["a", None, "b", None] * 250)
    assert texts.missing_cur == 0.5 and texts.verdict == "critical"


def test_cli_ad_hoc_drift(tmp_path: Path, cli) -> None:
    reference = pl.DataFrame({"x": REFERENCE[:4000], "c": ["a", "b"] * 2000})
    current = pl.DataFrame({"x": RNG.normal(10, 2, size=4000), "c": ["a", "b", "a", "z"] * 1000})
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_csv(tmp_path / "cur.csv")
    result = cli("drift", "--reference", tmp_path / "ref.parquet", "--current", tmp_path / "cur.csv", "--json")
    report = json.loads(result.out)
    keys = {"psi", "ks_stat", "ks_pvalue", "js", "chi2_pvalue", "missing_ref", "missing_cur", "new_categories", "verdict"}
    assert keys <= set(report["x"]) and keys <= set(report["c"])
    assert report["x"]["verdict"] == "ok" and report["c"]["new_categories"] == {"z": 1000}
    assert report["c"]["verdict"] == "critical" and result.code == 1
    calm = cli("drift", "--reference", tmp_path / "ref.parquet", "--current", tmp_path / "cur.csv", "--columns", "x")
    assert calm.code == 0 and calm.out.splitlines()[1].split()[0] == "x"
    bad = cli("drift", "--reference", tmp_path / "ref.parquet", "--current", tmp_path / "cur.csv", "--columns", "nope")
    assert bad.code == 2 and "not in both files" in bad.err
