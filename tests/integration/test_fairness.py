"""Protected attributes: per-group evaluation in the lineage and model card, and the fairness gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.support import SPEC, query


def _spec(write_spec: Callable[..., Path], flights_small: Path, protected: str = '["origin"]') -> Path:
    text = SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                       estimator="hist_gradient_boosting", params="{ max_iter = 30 }")
    return write_spec("fair.toml", text=text + f"\n[fairness]\nprotected = {protected}\n")


def test_groups_are_evaluated_and_gaps_reported(home: Path, cli: Callable[..., Any], flights_small: Path,
                                                write_spec: Callable[..., Path]) -> None:
    assert cli("train", "--spec", _spec(write_spec, flights_small), "--home", home).code == 0
    groups = query(home, "SELECT group_value, metric, value, row_count FROM fairness_metrics "
                         "WHERE group_value IS NOT NULL ORDER BY group_value, metric")
    assert sorted({g for g, *_ in groups}) == ["EWR", "JFK", "LGA"]
    assert {m for _, m, *_ in groups} == {"count", "selection_rate", "tpr", "fpr", "roc_auc"}
    rates = {g: v for g, m, v, _ in groups if m == "selection_rate"}
    gap = dict(query(home, "SELECT metric, value FROM fairness_metrics WHERE group_value IS NULL"))
    assert abs(gap["demographic_parity_difference"] - (max(rates.values()) - min(rates.values()))) < 1e-12
    assert gap["equalized_odds_difference"] is not None
    shown = json.loads(cli("show", "delay", "1", "--home", home, "--json").out)
    assert len(shown["fairness"]) == len(groups) + 2
    card = cli("show", "delay", "1", "--card", "--home", home).out
    assert "## Fairness" in card and "**origin**: demographic parity difference" in card and "| EWR |" in card


def test_the_gate_judges_gaps_only_when_limits_are_set(home: Path, cli: Callable[..., Any], flights_small: Path,
                                                      write_spec: Callable[..., Path]) -> None:
    assert cli("train", "--spec", _spec(write_spec, flights_small), "--home", home).code == 0
    (home / "vigil.toml").write_text("[promotion.models.delay]\nmax_demographic_parity_difference = 0.0001\n")
    refused = cli("promote", "delay", "1", "--to", "champion", "--reason", "try", "--home", home)
    assert refused.code == 1 and "rejected: failing gates: fairness" in refused.out
    detail = query(home, "SELECT detail FROM promotion_evidence WHERE gate = 'fairness'")[0][0]
    assert "origin: demographic parity difference" in detail and "above 0.0001" in detail
    (home / "vigil.toml").write_text("[promotion.models.delay]\nmax_demographic_parity_difference = 0.0001\n"
                                     "fairness_min_group_rows = 100000\n")  # every group too small to judge
    allowed = cli("promote", "delay", "1", "--to", "champion", "--reason", "try", "--home", home)
    assert allowed.code == 0, allowed.out
    detail = query(home, "SELECT detail FROM promotion_evidence WHERE gate = 'fairness' ORDER BY request_id DESC")[0][0]
    assert "3 group(s) under 100000 rows reported, not judged" in detail


def test_a_missing_protected_column_is_named(home: Path, cli: Callable[..., Any], flights_small: Path,
                                            write_spec: Callable[..., Path]) -> None:
    result = cli("train", "--spec", _spec(write_spec, flights_small, '["gender"]'), "--home", home)
    assert result.code == 2 and "gender" in result.err and "protected attribute column" in result.err
