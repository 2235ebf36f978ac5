"""Importing multiclass models: a scikit-learn model names its classes; a boosting library's own file
numbers them, so the spec names them (and the import is refused, naming `classes`, when it does not)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from support import query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
BAND = ("CASE WHEN arr_delay < 0 THEN 'early' WHEN arr_delay <= 15 THEN 'on_time' ELSE 'late' END")
SPEC = """\
model = "band"
task = "multiclass"
target = "band"
{classes}
[source]
query = \"\"\"SELECT *, {band} AS band FROM '{path}' WHERE arr_delay IS NOT NULL\"\"\"
[features]
numeric = {numeric}
[split]
time_column = "time_hour"
holdout_fraction = 0.25
[estimator]
kind = "hist_gradient_boosting"
"""


def _training(flights_small: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pl.read_parquet(flights_small).filter(pl.col("arr_delay").is_not_null())
    band = pl.when(pl.col("arr_delay") < 0).then(0).when(pl.col("arr_delay") <= 15).then(1).otherwise(2)
    return frame.select(NUMERIC).to_numpy().astype(float), frame.select(band).to_series().to_numpy()


def test_a_native_booster_needs_the_spec_to_name_its_classes(home: Path, tmp_path: Path, flights_small: Path,
                                                              cli: Callable[..., Any]) -> None:
    import xgboost

    x, y = _training(flights_small)
    booster = xgboost.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1, "seed": 1},
                            xgboost.DMatrix(x, label=y, feature_names=NUMERIC), num_boost_round=10)
    booster.save_model(tmp_path / "band.json")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(classes="", band=BAND, path=flights_small.as_posix(), numeric=json.dumps(NUMERIC)))
    refused = cli("import", "band", tmp_path / "band.json", "--spec", spec, "--home", home)
    assert refused.code == 2 and "classes = [" in refused.err and "\n" not in refused.err.strip()
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    text = spec.read_text()
    spec.write_text(text.replace('target = "band"', 'target = "band"\nclasses = ["early", "on_time", "late", "gone"]'))
    refused = cli("import", "band", tmp_path / "band.json", "--spec", spec, "--home", home)
    assert refused.code == 2 and "answers 3 class probabilities" in refused.err and "gone" in refused.err
    spec.write_text(text.replace('target = "band"', 'target = "band"\nclasses = ["early", "on_time", "late"]'))
    imported = cli("import", "band", tmp_path / "band.json", "--spec", spec, "--home", home)
    assert imported.code == 0, imported.err
    assert query(home, "SELECT classes FROM model_versions") == [(["early", "on_time", "late"],)]
    metrics = dict(query(home, "SELECT metric, value FROM version_metrics WHERE segment_column IS NULL"))
    assert 0 < metrics["log_loss"] < np.log(3) and metrics["roc_auc_ovr_macro"] > 0.5


def test_an_xgboost_softmax_model_answers_class_numbers_and_is_refused_naming_softprob(
        home: Path, tmp_path: Path, flights_small: Path, cli: Callable[..., Any]) -> None:
    import xgboost

    x, y = _training(flights_small)
    booster = xgboost.train({"objective": "multi:softmax", "num_class": 3, "nthread": 1, "seed": 1},
                            xgboost.DMatrix(x, label=y, feature_names=NUMERIC), num_boost_round=5)
    booster.save_model(tmp_path / "band.json")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(classes='classes = ["early", "on_time", "late"]', band=BAND,
                                path=flights_small.as_posix(), numeric=json.dumps(NUMERIC)))
    refused = cli("import", "band", tmp_path / "band.json", "--spec", spec, "--home", home)
    assert refused.code == 2 and "multi:softprob" in refused.err and "\n" not in refused.err.strip()
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_lightgbm_and_catboost_multiclass_files_answer_as_their_library(
        home: Path, tmp_path: Path, flights_small: Path, cli: Callable[..., Any]) -> None:
    import catboost
    import lightgbm

    from appliance.home.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model

    x, y = _training(flights_small)
    lgb = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, n_jobs=1, verbose=-1).fit(x, y)
    lgb.booster_.save_model(tmp_path / "band.txt")
    cat = catboost.CatBoostClassifier(iterations=10, depth=3, thread_count=1, verbose=0, allow_writing_files=False,
                                      loss_function="MultiClass").fit(x, y)
    cat.save_model(str(tmp_path / "band.cbm"))
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(classes='classes = ["early", "on_time", "late"]', band=BAND,
                                path=flights_small.as_posix(), numeric=json.dumps(NUMERIC)))
    for number, (file, library_model) in enumerate(((tmp_path / "band.txt", lgb), (tmp_path / "band.cbm", cat)), 1):
        imported = cli("import", "band", file, "--spec", spec, "--home", home)
        assert imported.code == 0, imported.err
        frame = pl.read_parquet(flights_small).head(500)
        with open_context(Home(home), read_only=True) as ctx:
            ours = load_model(ctx, "band", number).predict_proba(model_input(frame, features_from(NUMERIC, [])))
        theirs = library_model.predict_proba(frame.select(NUMERIC).to_numpy().astype(float))
        assert ours.shape == (500, 3) and np.allclose(ours, theirs, rtol=0, atol=1e-9)
