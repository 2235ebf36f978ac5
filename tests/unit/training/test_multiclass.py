"""Multiclass in the spec, the labels and the metrics: classes named or found, labels as class positions,
the metrics by name, and the paired bootstrap on log loss."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from appliance.errors import DatasetError, SpecError
from appliance.training.comparison import paired_bootstrap
from appliance.training.dataset import check_dataset, choose_classes, labels
from appliance.training.evaluation import evaluate, metrics
from appliance.training.spec import parse_spec

SPEC = """\
model = "band"
task = "multiclass"
target = "band"
{extra}
[source]
path = "flights.parquet"
[features]
numeric = ["distance"]
[split]
time_column = "time_hour"
[estimator]
kind = "{kind}"
"""


def _spec(extra: str = "", kind: str = "hist_gradient_boosting"):  # type: ignore[no-untyped-def]
    return parse_spec(SPEC.format(extra=extra, kind=kind)).spec


def _frame(bands: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"band": bands, "distance": [float(i) for i in range(len(bands))],
                         "time_hour": pl.datetime_range(pl.datetime(2013, 1, 1), pl.datetime(2013, 1, 1, len(bands) - 1),
                                                        "1h", eager=True)})


def test_spec_accepts_multiclass_and_refuses_what_does_not_fit() -> None:
    assert _spec('classes = ["early", "on_time", "late"]').classes == ["early", "on_time", "late"]
    for extra, kind, problem in (('classes = ["a", "b"]', "hist_gradient_boosting", "at least 3 distinct"),
                                 ('classes = ["a", "a", "b"]', "hist_gradient_boosting", "at least 3 distinct"),
                                 ("positive_class = 'late'", "hist_gradient_boosting", "'positive_class' is for"),
                                 ("", "linear_regression", "'linear_regression' is for task 'regression'")):
        with pytest.raises(SpecError, match=problem):
            _spec(extra, kind)
    with pytest.raises(SpecError, match="'classes' is for task 'multiclass'"):
        parse_spec(SPEC.format(extra='classes = ["a", "b", "c"]', kind="hist_gradient_boosting")
                   .replace('"multiclass"', '"binary"'))


def test_labels_are_positions_in_the_classes() -> None:
    frame = _frame(["late", "early", "on_time", "late"])
    assert choose_classes(frame["band"], _spec()) == ["early", "late", "on_time"]
    assert labels(frame, _spec()).tolist() == [1, 0, 2, 1]
    named = _spec('classes = ["on_time", "early", "late"]')
    assert labels(frame, named).tolist() == [2, 1, 0, 2]
    with pytest.raises(DatasetError, match=r"labels \['late'\] outside the model's classes"):
        labels(frame, _spec(), classes=["early", "on_time", "x"])


def test_dataset_check_names_too_few_or_unknown_classes() -> None:
    two = check_dataset(_frame(["a", "b", "a"]), _spec())
    assert [(v.column, v.kind) for v in two.violations] == [("band", "label_classes")]
    strangers = check_dataset(_frame(["a", "b", "zz"]), _spec('classes = ["a", "b", "c"]'))
    assert strangers.violations[0].observed == ["zz"] and strangers.violations[0].rows == 1
    assert check_dataset(_frame(["a", "b", "c"]), _spec()).ok


def test_metrics_by_name_on_seeded_rows() -> None:
    y = np.array([0, 1, 2, 0, 1, 2])
    p = np.array([[.8, .1, .1], [.1, .8, .1], [.1, .1, .8], [.6, .3, .1], [.3, .6, .1], [.5, .1, .4]])
    found = metrics("multiclass", y, p, classes=["a", "b", "c"])
    assert found["log_loss"] == pytest.approx(-np.mean(np.log([.8, .8, .8, .6, .6, .4])))
    assert found["accuracy"] == pytest.approx(5 / 6) and found["precision:a"] == pytest.approx(2 / 3)
    assert found["recall:c"] == 0.5 and found["confusion:c:a"] == 1.0 and found["confusion:a:a"] == 2.0
    assert found["roc_auc_ovr_macro"] == 1.0 and found["roc_auc_ovr_weighted"] == 1.0
    assert 0 < found["classwise_ece"] < 1
    rows = evaluate("multiclass", y, p, pl.DataFrame({"s": ["x"] * 6}), min_segment_rows=3, classes=["a", "b", "c"])
    assert {(r.segment_value, r.metric) for r in rows} >= {(None, "log_loss"), ("x", "log_loss")}


def test_paired_bootstrap_on_log_loss() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    good = np.full((300, 3), 0.1)
    good[np.arange(300), y] = 0.8
    weak = np.full((300, 3), 1 / 3)
    compared = paired_bootstrap("multiclass", y, good, weak, resamples=200, seed=1)
    assert (compared.metric, compared.higher_is_better, compared.verdict) == ("log_loss", False, "better")
    assert compared.difference == pytest.approx(np.log(0.8) * -1 - np.log(3))
