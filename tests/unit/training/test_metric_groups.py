"""Grouping a version's metrics for reading: overall values, per class, and the confusion matrix."""

from __future__ import annotations

from appliance.training.metric_groups import group_metrics, metric_lines

MULTICLASS = {"log_loss": 0.81, "accuracy": 0.6, "precision:early": 0.7, "recall:early": 0.5,
              "precision:on:time": None, "recall:on:time": 0.0, "confusion:early:early": 5.0,
              "confusion:early:on:time": 5.0, "confusion:on:time:early": 2.0, "confusion:on:time:on:time": 0.0}


def test_binary_metrics_stay_one_line() -> None:
    assert metric_lines({"roc_auc": 0.75, "brier": None}) == ["roc_auc=0.750000  brier=n/a"]
    assert group_metrics({"roc_auc": 0.75}).multiclass is False


def test_class_names_with_colons_are_split_at_the_known_class() -> None:
    found = group_metrics(MULTICLASS, ["early", "on:time"])
    assert found.overall == {"log_loss": 0.81, "accuracy": 0.6}
    assert found.per_class == {"early": {"precision": 0.7, "recall": 0.5},
                               "on:time": {"precision": None, "recall": 0.0}}
    assert found.confusion == [[5.0, 5.0], [2.0, 0.0]]


def test_multiclass_metrics_read_one_class_a_line() -> None:
    assert metric_lines(MULTICLASS, ["early", "on:time"]) == [
        "log_loss=0.810000  accuracy=0.600000",
        "class    precision  recall",
        "early       0.7000  0.5000",
        "on:time        n/a  0.0000",
        "confusion (rows: true class, columns: predicted)",
        "           early  on:time",
        "early          5        5",
        "on:time        2        0",
    ]
