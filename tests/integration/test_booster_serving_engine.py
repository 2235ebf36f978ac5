"""Boosting versions get a scoring plan when registered, trained or imported, and `vigil show` says which
engine serves each version and, when it is the library, why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from support import SAMPLE, query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


def _team_frame(flights_small: Path) -> pd.DataFrame:
    frame = pd.DataFrame(pl.read_parquet(flights_small).select(NUMERIC + CATEGORICAL + ["delayed"])
                         .to_dict(as_series=False))
    for column in CATEGORICAL:
        frame[column] = frame[column].astype("category")
    return frame


def _served_and_library(home: Path) -> tuple[np.ndarray, np.ndarray, Any]:
    """Version 1's answers through its stored plan and through its library, on 4,000 later flights with
    missing values and an unseen carrier."""
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.plans.storage import find_plan
    from appliance.registry.loading import load_model
    from appliance.registry.versions import get_version
    from appliance.core.inputs import Inputs

    features = features_from(NUMERIC, CATEGORICAL)
    later = model_input(pl.read_parquet(SAMPLE).filter(pl.col("month") >= 11).head(4000), features)
    row = pl.int_range(pl.len())
    later = later.with_columns(pl.when(row % 7 == 0).then(pl.lit("ZZ")).otherwise(pl.col("carrier")).alias("carrier"),
                               pl.when(row % 11 == 0).then(None).otherwise(pl.col("origin")).alias("origin"),
                               pl.when(row % 5 == 0).then(None).otherwise(pl.col("distance")).alias("distance"))
    assert later["temp"].null_count() > 0 and later["origin"].null_count() > 0
    with open_context(Home(home), read_only=True) as ctx:
        plan = find_plan(ctx.store, home, get_version(ctx.store, "delay", 1)["artifact_sha256"])
        model = load_model(ctx, "delay", 1)
    assert plan is not None
    return plan(Inputs.from_polars(later, features)), np.asarray(model.predict_proba(later)), plan


def test_an_imported_lightgbm_file_is_served_by_its_checked_plan(home: Path, cli, flights_small: Path, write_spec,
                                                                  tmp_path: Path) -> None:
    import lightgbm

    frame = _team_frame(flights_small)
    model = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=16, n_jobs=1, verbose=-1, random_state=0)
    model.fit(frame[NUMERIC + CATEGORICAL], frame["delayed"].astype(int))
    file = tmp_path / "team.txt"
    model.booster_.save_model(file)
    assert cli("import", "delay", file, "--spec", write_spec(), "--reason", "team model", "--home", home).code == 0
    ((checked,),) = query(home, "SELECT p.checked_rows FROM scoring_plans p "
                                "JOIN model_versions v USING (artifact_sha256)")
    assert int(checked) > 5
    served, library, plan = _served_and_library(home)
    assert plan.meta["estimator"]["library"] == "lightgbm"
    assert np.array_equal(served, library)
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["serving"]["engine"] == "plan" and f"{checked} rows" in shown["serving"]["detail"]
    assert "serving      plan (NumPy)" in cli("show", "delay", "1", "--home", home).out


def test_a_trained_xgboost_version_is_served_by_its_plan(home: Path, cli, write_spec) -> None:
    spec = write_spec(estimator="xgboost", params="{ n_estimators = 40, max_depth = 4 }")
    assert cli("train", "--spec", spec, "--home", home).code == 0
    served, library, plan = _served_and_library(home)
    assert plan.meta["estimator"]["library"] == "xgboost" and plan.meta["estimator"]["sum32"] is True
    assert np.array_equal(served, library)
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["serving"]["engine"] == "plan"


def test_catboost_with_categorical_features_is_served_by_catboost_and_show_says_why(
        home: Path, cli, flights_small: Path, write_spec, tmp_path: Path) -> None:
    import catboost

    frame = _team_frame(flights_small)
    text = frame[NUMERIC + CATEGORICAL].assign(**{c: frame[c].astype(str) for c in CATEGORICAL})
    model = catboost.CatBoostClassifier(iterations=20, depth=3, thread_count=1, verbose=0, random_seed=0,
                                        allow_writing_files=False, cat_features=CATEGORICAL)
    model.fit(text, frame["delayed"].astype(int))
    file = tmp_path / "team.cbm"
    model.save_model(str(file))
    assert cli("import", "delay", file, "--spec", write_spec(), "--reason", "team model", "--home", home).code == 0
    assert query(home, "SELECT count(*) FROM scoring_plans") == [(0,)]
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["serving"]["engine"] == "pipeline" and shown["serving"]["library"] == "CatBoost"
    assert "CTR" in shown["serving"]["detail"] and "no scoring plan" in shown["serving"]["detail"]
    line = [x for x in cli("show", "delay", "1", "--home", home).out.splitlines() if x.startswith("serving")]
    assert line and "pipeline (CatBoost)" in line[0] and "categorical features" in line[0]
