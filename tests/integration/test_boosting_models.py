"""XGBoost, LightGBM and CatBoost models: trained from a spec, and imported in their own formats and as
skops-saved scikit-learn wrappers, with the same evaluation and lineage as any version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
import skops.io as sio

from support import query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]
LIBRARIES = ("xgboost", "lightgbm", "catboost")


def _frame(flights_small: Path) -> pd.DataFrame:
    """The flights as a team would hand them to their library: pandas, categoricals as categories."""
    frame = pd.DataFrame(pl.read_parquet(flights_small).select(NUMERIC + CATEGORICAL + ["delayed"])
                         .to_dict(as_series=False))
    for column in CATEGORICAL:
        frame[column] = frame[column].astype("category")
    return frame


def _train_outside(library: str, flights_small: Path) -> Any:
    """A small model trained the way its library's users train one."""
    frame = _frame(flights_small)
    inputs, labels = frame[NUMERIC + CATEGORICAL], frame["delayed"].astype(int)
    if library == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=20, max_depth=3, enable_categorical=True, tree_method="hist",
                                     n_jobs=1, random_state=0).fit(inputs, labels)
    if library == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, verbose=-1,
                                       random_state=0).fit(inputs, labels)
    import catboost

    text = inputs.assign(**{c: inputs[c].astype(str) for c in CATEGORICAL})
    return catboost.CatBoostClassifier(iterations=20, depth=3, thread_count=1, verbose=0, random_seed=0,
                                       allow_writing_files=False, cat_features=CATEGORICAL).fit(text, labels)


def _own_probabilities(library: str, model: Any, flights_small: Path) -> np.ndarray:
    frame = _frame(flights_small)[NUMERIC + CATEGORICAL]
    if library == "catboost":
        frame = frame.assign(**{c: frame[c].astype(str) for c in CATEGORICAL})
    return np.asarray(model.predict_proba(frame))[:, 1]


def _stored_probabilities(home: Path, frame: pl.DataFrame) -> np.ndarray:
    """Version 1's probabilities, loaded from the store the way serving loads it."""
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model

    with open_context(Home(home), read_only=True) as ctx:
        stored = load_model(ctx, "delay", 1)
    return np.asarray(stored.predict_proba(model_input(frame, features_from(NUMERIC, CATEGORICAL))))[:, 1]


def _save_native(library: str, model: Any, folder: Path, suffix: str) -> Path:
    path = folder / f"{library}-model{suffix}"
    if library == "xgboost":
        model.get_booster().save_model(path)
    elif library == "lightgbm":
        model.booster_.save_model(path)
    else:
        model.save_model(str(path), format="json" if suffix == ".json" else "cbm")
    return path


@pytest.mark.parametrize("library", LIBRARIES)
def test_train_each_library_and_reproduce_it(library: str, home: Path, cli, write_spec) -> None:
    spec = write_spec(estimator=library, params="{ n_estimators = 25 }" if library != "catboost"
                      else "{ iterations = 25, depth = 4 }")
    spec.write_text(spec.read_text() + '\n[fairness]\nprotected = ["origin"]\n')
    trained = cli("train", "--spec", spec, "--home", home, "--json")
    assert trained.code == 0, trained.err
    metrics = json.loads(trained.out)["metrics"]
    assert 0.55 < metrics["roc_auc"] < 0.95 and metrics["log_loss"] > 0
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert library.lower() in shown["estimator"].lower()
    assert shown["segment_metrics"] and shown["feature_importance"] and shown["cost"]
    assert {g["group_value"] for g in shown["fairness"]} >= {"EWR", "JFK", "LGA"}
    assert shown["hyperparameters"]["random_state" if library != "catboost" else "random_seed"] == 7
    again = cli("reproduce", "delay", "1", "--home", home, "--json")
    assert again.code == 0, again.err
    report = json.loads(again.out)
    assert report["predictions_match"] is True and report["max_abs_difference"] == 0.0


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_threads_setting_in_the_spec_is_refused(library: str, home: Path, cli, write_spec) -> None:
    name = {"xgboost": "n_jobs", "lightgbm": "n_jobs", "catboost": "thread_count"}[library]
    spec = write_spec(estimator=library, params=f"{{ {name} = 4 }}")
    result = cli("train", "--spec", spec, "--home", home)
    assert result.code == 2 and name in result.err and "one thread" in result.err
    assert "Traceback" not in result.err and query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_an_unknown_parameter_names_the_allowed_ones(home: Path, cli, write_spec) -> None:
    result = cli("train", "--spec", write_spec(estimator="catboost", params="{ leaves = 4 }"), "--home", home)
    assert result.code == 2 and "leaves" in result.err and "depth" in result.err


@pytest.mark.parametrize(("library", "suffix"), [("xgboost", ".json"), ("xgboost", ".ubj"), ("lightgbm", ".txt"),
                                                 ("catboost", ".cbm"), ("catboost", ".json")])
def test_import_in_the_library_s_own_format(library: str, suffix: str, home: Path, cli, flights_small: Path,
                                            write_spec, tmp_path: Path) -> None:
    model = _train_outside(library, flights_small)
    file = _save_native(library, model, tmp_path, suffix)
    spec = write_spec(estimator="hist_gradient_boosting")
    result = cli("import", "delay", file, "--spec", spec, "--reason", "team model", "--home", home, "--json")
    assert result.code == 0, result.err
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["imported_from"]["format"] == f"{library}-{suffix[1:]}"
    # the stored version answers as the library did on the same rows
    ours = _stored_probabilities(home, pl.read_parquet(flights_small))
    assert np.allclose(ours, _own_probabilities(library, model, flights_small), rtol=0, atol=1e-6)
    untrusted = sio.get_untrusted_types(file=home / shown["artifact_path"])
    assert untrusted == ["appliance.boosters.native.NativeBooster"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_import_the_scikit_learn_wrapper_saved_with_skops(library: str, home: Path, cli, flights_small: Path,
                                                          write_spec, tmp_path: Path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    frame = pl.read_parquet(flights_small)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c) for c in CATEGORICAL])
    encode = ColumnTransformer([("n", "passthrough", NUMERIC),
                                ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                     encoded_missing_value=-1), CATEGORICAL)])
    estimator: Any
    if library == "xgboost":
        import xgboost

        estimator = xgboost.XGBClassifier(n_estimators=10, n_jobs=1)
    elif library == "lightgbm":
        import lightgbm

        estimator = lightgbm.LGBMClassifier(n_estimators=10, n_jobs=1, verbose=-1)
    else:
        import catboost

        estimator = catboost.CatBoostClassifier(iterations=10, thread_count=1, verbose=0, allow_writing_files=False)
    model = Pipeline([("pre", encode), ("model", estimator)]).fit(inputs, frame["delayed"].cast(pl.Int64).to_numpy())
    file = tmp_path / "wrapped.skops"
    sio.dump(model, file)
    result = cli("import", "delay", file, "--spec", write_spec(), "--home", home, "--json")
    assert result.code == 0, result.err
    assert 0.5 < json.loads(result.out)["metrics"]["roc_auc"] < 0.95


def test_a_json_file_from_neither_library_is_refused_with_what_is_read(home: Path, cli, write_spec,
                                                                        tmp_path: Path) -> None:
    file = tmp_path / "model.json"
    file.write_text('{"weights": [1, 2]}')
    result = cli("import", "delay", file, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "model.json" in result.err and "XGBoost" in result.err and "CatBoost" in result.err
    assert "--trust" not in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_a_model_whose_features_differ_from_the_spec_is_refused(home: Path, cli, flights_small: Path,
                                                               write_spec, tmp_path: Path) -> None:
    import lightgbm

    frame = _frame(flights_small)
    model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame[["distance", "temp"]],
                                                                     frame["delayed"].astype(int))
    file = _save_native("lightgbm", model, tmp_path, ".txt")
    result = cli("import", "delay", file, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "not in the model" in result.err and "carrier" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_categories_the_file_does_not_carry_come_from_the_spec(home: Path, cli, flights_small: Path,
                                                              write_spec, tmp_path: Path) -> None:
    import xgboost

    frame = pl.read_parquet(flights_small)
    carriers = sorted(frame["carrier"].drop_nulls().unique().to_list())
    origins = sorted(frame["origin"].drop_nulls().unique().to_list())
    codes = np.column_stack(
        [frame[c].cast(pl.Float64).to_numpy() for c in NUMERIC]
        + [frame[c].replace_strict(values, list(range(len(values))), default=None).cast(pl.Float64).to_numpy()
           for c, values in (("carrier", carriers), ("origin", origins))])
    matrix = xgboost.DMatrix(codes, label=frame["delayed"].cast(pl.Int64).to_numpy(), enable_categorical=True,
                             feature_types=["float"] * len(NUMERIC) + ["c", "c"])
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, matrix, 10)
    file = tmp_path / "codes.ubj"
    booster.save_model(file)
    refused = cli("import", "delay", file, "--spec", write_spec(), "--home", home)
    assert refused.code == 2 and "[encoding] categories" in refused.err and "carrier" in refused.err
    spec = write_spec(source=None)
    text = spec.read_text() + f"\n[encoding]\ncategories = {{ carrier = {json.dumps(carriers)}, " \
                              f"origin = {json.dumps(origins)} }}\n"
    spec.write_text(text)
    result = cli("import", "delay", file, "--spec", spec, "--home", home, "--json")
    assert result.code == 0, result.err
    ours = _stored_probabilities(home, frame)
    assert np.allclose(ours, booster.predict(xgboost.DMatrix(codes, enable_categorical=True,
                                                             feature_types=["float"] * len(NUMERIC) + ["c", "c"])),
                       rtol=0, atol=1e-7)


@pytest.mark.parametrize(("library", "suffix"), [("xgboost", ".ubj"), ("lightgbm", ".txt"), ("catboost", ".cbm")])
def test_a_damaged_model_file_is_refused_and_leaves_nothing(library: str, suffix: str, home: Path, cli,
                                                           flights_small: Path, write_spec, tmp_path: Path) -> None:
    file = _save_native(library, _train_outside(library, flights_small), tmp_path, suffix)
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 3])  # cut short, as a failed copy would leave it
    result = cli("import", "delay", file, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and file.name in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    assert query(home, "SELECT count(*) FROM audit_log") == [(0,)]
