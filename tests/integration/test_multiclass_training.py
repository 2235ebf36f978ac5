"""Every estimator kind trains a multiclass model: its classes, metrics and a reproduction that matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from daemon_support import BAND_CLASSES, BAND_SPEC
from support import query

KINDS = {"random_forest": "{ n_estimators = 20 }", "logistic_regression": "{}", "lightgbm": "{ n_estimators = 20 }",
         "catboost": "{ iterations = 20 }"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_trains_and_reproduces_a_multiclass_model(kind: str, home: Path, cli: Callable[..., Any],
                                                            tmp_path: Path, flights_small: Path) -> None:
    spec = tmp_path / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator=kind, params=KINDS[kind]))
    trained = cli("train", "--spec", spec, "--home", home, "--json")
    assert trained.code == 0, trained.err
    metrics = json.loads(trained.out)["metrics"]
    assert 0 < metrics["log_loss"] < 5 and metrics["roc_auc_ovr_macro"] > 0.55  # (a small forest is overconfident)
    assert {f"recall:{c}" for c in BAND_CLASSES} <= set(metrics)
    assert query(home, "SELECT classes FROM model_versions") == [(BAND_CLASSES,)]
    again = json.loads(cli("reproduce", "band", "1", "--home", home, "--json").out)
    assert again["predictions_match"] is True and again["max_abs_difference"] == 0.0
