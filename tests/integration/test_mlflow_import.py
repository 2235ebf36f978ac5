"""`vigil import NAME DIRECTORY`: model directories written by MLflow itself (its sklearn, xgboost,
lightgbm and catboost flavours), imported with their run in the lineage, their signature checked
against the spec and as the contract's starting point, and scoring as the model itself does."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from daemon_support import admin, start_daemon
from support import query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


def _pandas(flights_small: Path, categories: bool) -> pd.DataFrame:
    frame = pd.DataFrame(pl.read_parquet(flights_small).select(NUMERIC + CATEGORICAL).to_dict(as_series=False))
    return frame.astype({c: "category" for c in CATEGORICAL}) if categories else frame


def _labels(flights_small: Path) -> np.ndarray:
    return pl.read_parquet(flights_small)["delayed"].cast(pl.Int64).to_numpy()


def log_model(flavour: str, model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: pd.DataFrame,
              **options: Any) -> tuple[Path, str]:
    """Log `model` in an MLflow run (a local file store), as a team does; (its directory, the run id)."""
    import importlib

    import mlflow
    from mlflow.models import infer_signature

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    mlflow.set_tracking_uri(store.as_uri())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(example.astype({c: "object" for c in CATEGORICAL if c in example}))
        with mlflow.start_run() as run:
            importlib.import_module(f"mlflow.{flavour}").log_model(model, name="model", signature=signature,
                                                                   **options)
    found = [p.parent for p in store.rglob("MLmodel")]
    assert len(found) == 1
    return found[0], run.info.run_id


def _sklearn_pipeline(flights_small: Path) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pl.read_parquet(flights_small)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + CATEGORICAL)
    numeric = Pipeline([("fill", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    encode = ColumnTransformer([("n", numeric, NUMERIC), ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])
    pipeline = Pipeline([("pre", encode), ("model", LogisticRegression(max_iter=500))])
    return pipeline.fit(inputs, _labels(flights_small))


def _booster(library: str, flights_small: Path) -> Any:
    frame, labels = _pandas(flights_small, categories=True), _labels(flights_small)
    if library == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=20, max_depth=3, enable_categorical=True, tree_method="hist",
                                     n_jobs=1, random_state=0).fit(frame, labels)
    if library == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, verbose=-1,
                                       random_state=0).fit(frame, labels)
    import catboost

    text = frame.astype({c: str for c in CATEGORICAL})
    return catboost.CatBoostClassifier(iterations=20, depth=3, thread_count=1, verbose=0, random_seed=0,
                                       allow_writing_files=False, cat_features=CATEGORICAL).fit(text, labels)


def _own_probabilities(library: str, model: Any, flights_small: Path) -> np.ndarray:
    if library == "sklearn":
        frame = pl.read_parquet(flights_small)
        return model.predict_proba(frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + CATEGORICAL))[:, 1]
    frame = _pandas(flights_small, categories=True)
    if library == "catboost":
        frame = frame.astype({c: str for c in CATEGORICAL})
    return np.asarray(model.predict_proba(frame))[:, 1]


def _stored_probabilities(home: Path, flights_small: Path, version: int = 1) -> np.ndarray:
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model

    with open_context(Home(home), read_only=True) as ctx:
        stored = load_model(ctx, "delay", version)
    frame = model_input(pl.read_parquet(flights_small), features_from(NUMERIC, CATEGORICAL))
    return np.asarray(stored.predict_proba(frame))[:, 1]


def _contract(cli, home: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(cli("contract", "export", "delay", "1", "--home", home).out)["columns"]


def test_sklearn_skops_directory_imports_with_its_run_and_signature(home: Path, cli, flights_small: Path,
                                                                    write_spec, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = _sklearn_pipeline(flights_small)
    directory, run_id = log_model("sklearn", model, tmp_path, monkeypatch, _pandas(flights_small, False),
                                  serialization_format="skops", skops_trusted_types=["numpy.dtype"])
    result = cli("import", "delay", directory, "--spec", write_spec(), "--reason", "from MLflow", "--home", home,
                 "--json")
    assert result.code == 0, result.err
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    origin = shown["imported_from"]
    assert origin["format"] == "skops" and origin["trusted"] is False and origin["file"] == "model.skops"
    mlflow = origin["mlflow"]
    assert mlflow["run_id"] == run_id and mlflow["flavor"] == "sklearn" and mlflow["serialization"] == "skops"
    assert mlflow["model_uuid"] and mlflow["utc_time_created"] and mlflow["artifact_path"]
    import mlflow as library

    assert mlflow["mlflow_version"] == library.__version__
    assert {c["name"] for c in mlflow["signature"]} == set(NUMERIC + CATEGORICAL)
    text = cli("show", "delay", "1", "--home", home).out
    assert f"mlflow       run {run_id}, sklearn flavour" in text
    assert np.array_equal(_stored_probabilities(home, flights_small), _own_probabilities("sklearn", model,
                                                                                         flights_small))
    # the signature is the contract's start: columns MLflow calls optional accept any share of missing values
    optional = {c["name"] for c in mlflow["signature"] if not c["required"]}
    contract = _contract(cli, home)
    assert optional and all(contract[name]["max_missing_rate"] == 1.0 for name in optional)
    assert all(contract[name]["max_missing_rate"] < 1.0 for name in set(contract) - optional)


@pytest.mark.parametrize(("library", "options"), [("xgboost", {}), ("xgboost", {"model_format": "xgb"}),
                                                  ("xgboost", {"model_format": "json"}), ("lightgbm", {}),
                                                  ("catboost", {})])
def test_boosting_flavours_are_read_natively(library: str, options: dict[str, Any], home: Path, cli,
                                             flights_small: Path, write_spec, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = _booster(library, flights_small)
    logged = model.booster_ if library == "lightgbm" else model  # LightGBM's Booster: its own text model
    directory, run_id = log_model(library, logged, tmp_path, monkeypatch, _pandas(flights_small, False), **options)
    result = cli("import", "delay", directory, "--spec", write_spec(), "--home", home, "--json")
    assert result.code == 0, result.err
    origin = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)["imported_from"]
    assert origin["mlflow"]["run_id"] == run_id and origin["mlflow"]["flavor"] == library
    expected = {"xgboost": "xgboost-" + {"xgb": "ubj"}.get(options.get("model_format", "ubj"),
                                                         options.get("model_format", "ubj")),
                "lightgbm": "lightgbm-txt", "catboost": "catboost-cbm"}[library]
    assert origin["format"] == expected
    assert np.allclose(_stored_probabilities(home, flights_small), _own_probabilities(library, model, flights_small),
                       rtol=0, atol=1e-6)


def test_a_lightgbm_scikit_learn_model_comes_as_skops_or_with_trust(home: Path, cli, flights_small: Path,
                                                                    write_spec, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import lightgbm

    frame = _pandas(flights_small, False)[NUMERIC]
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, verbose=-1,
                                    random_state=0).fit(frame, _labels(flights_small))
    spec = write_spec()
    spec.write_text(spec.read_text().replace('categorical = ["carrier", "origin"]', "categorical = []"))
    pickled, _ = log_model("lightgbm", model, tmp_path / "pickled", monkeypatch, frame,
                           serialization_format="pickle")
    refused = cli("import", "delay", pickled, "--spec", spec, "--home", home)
    assert refused.code == 2 and "Traceback" not in refused.err
    assert "lightgbm flavour" in refused.err and "model.pkl" in refused.err and "--trust" in refused.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    skops, run_id = log_model("lightgbm", model, tmp_path / "skops", monkeypatch, frame,
                              serialization_format="skops")
    result = cli("import", "delay", skops, "--spec", spec, "--home", home, "--json")
    assert result.code == 0, result.err
    assert query(home, "SELECT imported_from->'mlflow'->>'run_id', imported_from->>'format' FROM model_versions") \
        == [(run_id, "skops")]
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model

    with open_context(Home(home), read_only=True) as ctx:
        stored = load_model(ctx, "delay", 1)
    ours = stored.predict_proba(model_input(pl.read_parquet(flights_small), features_from(NUMERIC, [])))[:, 1]
    assert np.allclose(ours, model.predict_proba(frame.astype(float))[:, 1], rtol=0, atol=1e-12)


def test_a_pickled_sklearn_flavour_needs_trust(home: Path, cli, flights_small: Path, write_spec, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = _sklearn_pipeline(flights_small)
    directory, run_id = log_model("sklearn", model, tmp_path, monkeypatch, _pandas(flights_small, False),
                                  serialization_format="cloudpickle")
    refused = cli("import", "delay", directory, "--spec", write_spec(), "--home", home)
    assert refused.code == 2 and "sklearn flavour" in refused.err and "cloudpickle" in refused.err
    assert "model.pkl" in refused.err and "--trust" in refused.err and "Traceback" not in refused.err
    assert query(home, "SELECT count(*) FROM audit_log") == [(0,)]
    accepted = cli("import", "delay", directory, "--spec", write_spec(), "--trust", "--home", home)
    assert accepted.code == 0, accepted.err
    assert query(home, "SELECT action FROM audit_log ORDER BY id") == [("import.trusted_load",), ("version.imported",)]
    assert query(home, "SELECT imported_from->'mlflow'->>'run_id', imported_from->>'trusted' FROM model_versions") \
        == [(run_id, "true")]
    assert np.array_equal(_stored_probabilities(home, flights_small), _own_probabilities("sklearn", model,
                                                                                         flights_small))


def test_a_signature_that_disagrees_with_the_spec_is_refused_naming_each_difference(
        home: Path, cli, flights_small: Path, write_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _booster("xgboost", flights_small)
    example = _pandas(flights_small, False).drop(columns=["visib"]).assign(dest="x", origin=1.5)
    directory, _ = log_model("xgboost", model, tmp_path, monkeypatch, example)
    result = cli("import", "delay", directory, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "Traceback" not in result.err
    assert "'dest' (string) is in the signature but not in the spec" in result.err
    assert "'origin' is double in the signature but categorical in the spec" in result.err
    assert "'visib' is in the spec but not in the signature" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_refusals_name_what_is_accepted(home: Path, cli, flights_small: Path, write_spec, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("import", "delay", empty, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "without an MLmodel file" in result.err and "does not exist" not in result.err
    directory, _ = log_model("sklearn", _sklearn_pipeline(flights_small), tmp_path, monkeypatch,
                             _pandas(flights_small, False), skops_trusted_types=["numpy.dtype"])
    mlmodel = directory / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("  sklearn:", "  pytorch:"))
    result = cli("import", "delay", directory, "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "pytorch" in result.err and "python_function" in result.err
    assert all(name in result.err for name in ("sklearn", "xgboost", "lightgbm", "catboost"))
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_import_through_a_running_daemon(home: Path, flights_small: Path, write_spec, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    model = _booster("catboost", flights_small)
    directory, run_id = log_model("catboost", model, tmp_path, monkeypatch, _pandas(flights_small, False))
    daemon = start_daemon(home, tmp_path / "daemon.log")
    try:
        imported = admin(daemon, "import", {"name": "delay", "file": str(directory), "spec": str(write_spec())})
        assert imported["version"] == 1
        shown = admin(daemon, "show", {"name": "delay", "version": 1})
        assert shown["imported_from"]["mlflow"]["run_id"] == run_id
        assert shown["imported_from"]["format"] == "catboost-cbm"
        admin(daemon, "promote", {"name": "delay", "version": 1, "alias": "champion", "reason": "from MLflow"})
        rows = pl.read_parquet(flights_small).drop_nulls(NUMERIC + CATEGORICAL).head(20)
        records = rows.select(NUMERIC + CATEGORICAL).to_dicts()
        status, answer = daemon.post("/v1/models/delay/predict", {"records": records})
        assert status == 200, answer
        text = pd.DataFrame(records).astype({c: str for c in CATEGORICAL})
        assert np.allclose(answer["probabilities"], model.predict_proba(text)[:, 1], rtol=0, atol=1e-4)
    finally:
        daemon.stop()
