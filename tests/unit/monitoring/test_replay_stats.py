"""Replay statistics on hand-made answers: agreement, score shift and labelled metrics, for each task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from appliance.monitoring.replay_stats import Answers, agreement, labelled_metrics, primary, shift


def test_regression_agrees_within_a_tenth_of_the_champions_spread() -> None:
    champion = Answers(None, np.array([10.0, 20.0, 30.0, 40.0]))  # population std sqrt(125) = 11.18
    candidate = Answers(None, np.array([10.5, 22.0, 30.0, 39.0]))
    found = agreement("regression", champion, candidate)
    assert found["tolerance"] == pytest.approx(0.1 * math.sqrt(125))
    assert found["agreement"] == 0.75  # |2.0| > 1.118; 0.5, 0 and 1.0 are within
    assert found["mean_abs_difference"] == pytest.approx((0.5 + 2.0 + 0.0 + 1.0) / 4)
    metrics = labelled_metrics("regression", [10.0, 20.0], [], Answers(None, champion.scores[:2]),
                               Answers(None, candidate.scores[:2]))
    assert metrics["mae"] == {"candidate": pytest.approx(1.25), "champion": 0.0}
    assert primary("regression", metrics)[0] == "mae"


def test_a_constant_champion_needs_the_same_answer() -> None:
    found = agreement("regression", Answers(None, np.array([5.0, 5.0])), Answers(None, np.array([5.0, 5.1])))
    assert found["agreement"] == 0.5


def test_multiclass_compares_classes_by_name_whatever_their_order() -> None:
    champion = Answers(["a", "b", "c"], np.array([0.6, 0.5, 0.7]),
                       {"a": np.array([0.6, 0.3, 0.1]), "b": np.array([0.2, 0.5, 0.2]), "c": np.array([0.2, 0.2, 0.7])})
    candidate = Answers(["a", "c", "c"], np.array([0.8, 0.4, 0.9]),
                        {"c": np.array([0.1, 0.4, 0.9]), "a": np.array([0.8, 0.3, 0.05]),
                         "b": np.array([0.1, 0.3, 0.05])})
    assert agreement("multiclass", champion, candidate)["agreement"] == pytest.approx(2 / 3)
    metrics = labelled_metrics("multiclass", [], ["a", "b", "c"], champion, candidate)
    assert metrics["accuracy"] == {"candidate": pytest.approx(2 / 3), "champion": 1.0}
    assert metrics["log_loss"]["candidate"] == pytest.approx(-(math.log(0.8) + math.log(0.3) + math.log(0.9)) / 3)
    assert metrics["log_loss"]["champion"] == pytest.approx(-(math.log(0.6) + math.log(0.5) + math.log(0.7)) / 3)
    moved = shift("multiclass", champion, candidate)
    assert moved["class"] in {"a", "b", "c"} and moved["psi"] == max(moved["per_class_psi"].values())


def test_no_rows_and_no_labels_give_nothing_rather_than_a_pass() -> None:
    empty = Answers([], np.array([]))
    assert agreement("binary", empty, empty) == {"agreement": None, "rows": 0}
    assert shift("binary", empty, empty) == {"psi": None, "ks": None}
    assert labelled_metrics("binary", [], [], empty, empty) == {} and primary("binary", {}) == (None, None, None)
