"""A multiclass model on every protocol, through a real daemon: a scikit-learn classifier of a flight's
arrival band saved by MLflow itself and imported, whose `/invocations` answers are compared with what
MLflow's own scoring server code returns for the same body (labels with `predict`, every class's
probability with `predict_proba`); Open Inference v2 label and probability tensors with the class names,
read by tritonclient; labels by class name through feedback, and the outcome metrics they give."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import polars as pl
import pytest

from daemon_support import BAND_CLASSES, BAND_SPEC, FEATURES, Daemon, admin, start_daemon

NUMERIC, CATEGORICAL = FEATURES[:5], FEATURES[5:]


def _band_frame(flights_small: Path) -> pl.DataFrame:
    """The flights with their arrival band, as the spec's query makes it."""
    delay = pl.col("arr_delay")
    band = pl.when(delay < 0).then(pl.lit("early")).when(delay <= 15).then(pl.lit("on_time")).otherwise(pl.lit("late"))
    return pl.read_parquet(flights_small).filter(delay.is_not_null()).with_columns(band.alias("band"))


def _classifier(frame: pl.DataFrame) -> Any:
    """A team's scikit-learn pipeline, fitted on the class names themselves."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + CATEGORICAL)
    numeric = Pipeline([("fill", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    encode = ColumnTransformer([("n", numeric, NUMERIC), ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])
    return Pipeline([("pre", encode), ("model", LogisticRegression(max_iter=500))]).fit(inputs, frame["band"])


def _save(model: Any, frame: pl.DataFrame, directory: Path, predict_fn: str) -> Path:
    """`mlflow.sklearn.save_model`, as a team does, with its pyfunc predict function."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    import pandas as pd

    example = pd.DataFrame(frame.select(NUMERIC + CATEGORICAL).head(50).to_dict(as_series=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(model, str(directory), serialization_format="skops",
                                  skops_trusted_types=["numpy.dtype"], pyfunc_predict_fn=predict_fn,
                                  signature=infer_signature(example.astype({c: "object" for c in CATEGORICAL})))
    return directory


@pytest.fixture(scope="module")
def band(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Iterator[dict[str, Any]]:
    """The MLflow model imported as `band` v1 (champion) into a served home, and MLflow's own view of it."""
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("band")
    frame = _band_frame(flights_small)
    model = _classifier(frame)
    assert list(model.classes_) == BAND_CLASSES
    directories = {fn: _save(model, frame, root / fn, fn) for fn in ("predict", "predict_proba")}
    home, spec = root / "home", root / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator="logistic_regression", params="{}"))
    assert main(["init", "--home", str(home)]) == 0
    assert main(["import", "band", str(directories["predict"]), "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "band", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    proba_home = root / "proba-home"  # the same model, saved by MLflow to answer probabilities
    assert main(["init", "--home", str(proba_home)]) == 0
    assert main(["import", "band", str(directories["predict_proba"]), "--spec", str(spec), "--home",
                 str(proba_home)]) == 0
    assert main(["promote", "band", "1", "--to", "champion", "--reason", "first", "--home", str(proba_home)]) == 0
    rows = frame.drop_nulls(FEATURES).tail(40)
    daemon = start_daemon(home, root / "daemon.log")
    proba_daemon = start_daemon(proba_home, root / "proba-daemon.log")
    try:
        yield {"daemon": daemon, "proba_daemon": proba_daemon, "directories": directories,
               "records": rows.select(FEATURES).to_dicts(), "labels": rows["band"].to_list()}
    finally:
        for running in (daemon, proba_daemon):
            if running.process.poll() is None:
                running.stop()


def _mlflow_answer(directory: Path, body: dict[str, Any]) -> Any:
    """What `mlflow models serve` answers: its scoring server's own request handling on the model it loaded."""
    from mlflow.pyfunc import load_model, scoring_server

    loaded = load_model(str(directory))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answered = scoring_server.invocations(json.dumps(body), "application/json", loaded,
                                              loaded.metadata.get_input_schema())
    assert answered.status == 200, answered.response
    return json.loads(answered.response)


def _bodies(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        "dataframe_records": {"dataframe_records": records},
        "dataframe_split": {"dataframe_split": {"columns": FEATURES, "data": [[r[f] for f in FEATURES]
                                                                             for r in records]}},
        "instances": {"instances": records},
        "inputs": {"inputs": {f: [r[f] for r in records] for f in FEATURES}},
    }


def test_invocations_answer_as_mlflow_scoring_server(band: dict[str, Any]) -> None:
    daemon, directories = band["daemon"], band["directories"]
    for name, body in _bodies(band["records"][:12]).items():
        labels = _mlflow_answer(directories["predict"], body)
        status, ours = daemon.post("/invocations", body)
        assert status == 200 and ours == labels, name  # class names, exactly
        assert set(labels["predictions"]) <= set(BAND_CLASSES) and len(labels["predictions"]) == 12

        probabilities = _mlflow_answer(directories["predict_proba"], body)
        status, ours = daemon.post("/invocations", {**body, "params": {"predict_fn": "predict_proba"}})
        assert status == 200 and list(ours) == ["predictions"], name
        assert np.asarray(ours["predictions"]).shape == (12, 3)
        assert np.allclose(ours["predictions"], probabilities["predictions"], rtol=0, atol=1e-12), name
    status, native = daemon.post("/v1/models/band/predict", {"records": band["records"][:3]})
    assert status == 200
    status, ours = daemon.post("/v1/models/band/predict", {"dataframe_records": band["records"][:3],
                                                            "params": {"predict_fn": "predict_proba"}})
    assert status == 200 and np.allclose(ours["predictions"], native["probabilities"], rtol=0, atol=1e-12)


def test_invocations_params_as_mlflow_takes_them(band: dict[str, Any]) -> None:
    body = {"dataframe_records": band["records"][:4]}
    status, answer = band["daemon"].post("/invocations", {**body, "params": {"predict_fn": "predict_log_proba"}})
    assert status == 400 and answer["errors"] == [{"field": "params.predict_fn", "kind": "invalid_body",
                                                   "problem": "must be one of predict, predict_proba"}]
    unknown = {**body, "params": {"threshold": 0.3}}  # a param the model does not take: MLflow ignores it
    status, answer = band["daemon"].post("/invocations", unknown)
    assert status == 200 and answer == _mlflow_answer(band["directories"]["predict"], unknown)


def test_a_model_mlflow_saved_to_answer_probabilities_does_so_by_default(band: dict[str, Any]) -> None:
    body = {"dataframe_records": band["records"][:5]}
    expected = _mlflow_answer(band["directories"]["predict_proba"], body)
    status, ours = band["proba_daemon"].post("/invocations", body)
    assert status == 200 and np.allclose(ours["predictions"], expected["predictions"], rtol=0, atol=1e-12)
    status, labels = band["proba_daemon"].post("/invocations", {**body, "params": {"predict_fn": "predict"}})
    assert status == 200 and labels == _mlflow_answer(band["directories"]["predict"], body)


def test_binary_predict_proba_is_both_classes(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    status, native = daemon.post("/v1/models/delay/predict", {"records": sample_records[:4]})
    assert status == 200
    status, ours = daemon.post("/invocations", {"dataframe_records": sample_records[:4],
                                                "params": {"predict_fn": "predict_proba"}})
    assert status == 200
    assert np.allclose(ours["predictions"], [[1 - p, p] for p in native["probabilities"]], rtol=0, atol=1e-12)


def test_open_inference_protocol_tensors_name_the_classes(band: dict[str, Any]) -> None:
    import tritonclient.http as httpclient

    daemon, records = band["daemon"], band["records"][:6]
    client = httpclient.InferenceServerClient(url=daemon.url.removeprefix("http://"))
    metadata = client.get_model_metadata("band")
    assert json.loads(metadata["parameters"]["classes"]) == BAND_CLASSES
    assert [(o["name"], o["datatype"], o["shape"]) for o in metadata["outputs"]] == [
        ("predict", "BYTES", [-1]), ("predict_proba", "FP64", [-1, 3])]
    assert json.loads(metadata["outputs"][1]["parameters"]["classes"]) == BAND_CLASSES
    inputs = []
    for spec in metadata["inputs"]:
        values = [r[spec["name"]] for r in records]
        array = np.array([v.encode() for v in values], dtype=object) if spec["datatype"] == "BYTES" \
            else np.array(values, dtype=np.float64)
        tensor = httpclient.InferInput(spec["name"], [len(records)], spec["datatype"])
        tensor.set_data_from_numpy(array)  # binary_data=True, the client's default
        inputs.append(tensor)
    result = client.infer("band", inputs)
    native = daemon.post("/v1/models/band/predict", {"records": records})[1]
    assert [label.decode() for label in result.as_numpy("predict")] == native["predictions"]
    assert result.as_numpy("predict_proba").shape == (6, 3)
    assert np.allclose(result.as_numpy("predict_proba"), native["probabilities"], rtol=0, atol=1e-12)
    assert json.loads(result.get_output("predict_proba")["parameters"]["classes"]) == BAND_CLASSES

    tensors = [{"name": f, "shape": [2], "datatype": "BYTES" if f in CATEGORICAL else "FP64",
                "data": [r[f] for r in records[:2]]} for f in FEATURES]
    status, answer = daemon.post("/v2/models/band/infer", {"inputs": tensors})
    assert status == 200
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["predict"]["datatype"] == "BYTES" and outputs["predict"]["data"] == native["predictions"][:2]
    assert outputs["predict_proba"]["shape"] == [2, 3]
    assert np.allclose(outputs["predict_proba"]["data"], np.ravel(native["probabilities"][:2]), rtol=0, atol=1e-12)


def _sql(daemon: Daemon, text: str) -> list[list[Any]]:
    return list(admin(daemon, "sql", {"query": text})["rows"])


def test_labels_by_class_name_and_outcomes_per_class(band: dict[str, Any]) -> None:
    daemon, records, labels = band["daemon"], band["records"], band["labels"]
    status, native = daemon.post("/v1/models/band/predict", {"records": records, "request_id": "band-fb"})
    assert status == 200
    items = [{"request_id": "band-fb", "row_index": i, "label": label} for i, label in enumerate(labels)]

    wrong = [dict(item) for item in items]
    wrong[3]["label"] = "delayed"
    status, answer = daemon.post("/v1/models/band/feedback", {"labels": wrong})
    assert status == 400, answer
    assert answer["error"]["errors"] == [{"field": "labels[3].label", "kind": "unknown_class", "problem":
                                          "'delayed' is not a class of this model; its classes are early, late, "
                                          "on_time"}]
    status, answer = daemon.post("/v1/models/band/feedback", {"request_id": "band-fb", "label": "Late"})
    assert status == 400 and answer["error"]["errors"][0]["field"] == "label" and "'Late'" in answer["error"]["message"]
    assert _sql(daemon, "SELECT count(*) FROM feedback") == [[0]]  # a refused body records nothing

    status, answer = daemon.post("/v1/models/band/feedback", {"labels": items})
    assert status == 200 and answer["counts"] == {"recorded": len(items)}, answer
    stored = _sql(daemon, "SELECT label, label_value FROM feedback WHERE row_index < 5 ORDER BY row_index")
    assert stored == [[label, float(BAND_CLASSES.index(label))] for label in labels[:5]]

    report = admin(daemon, "outcomes", {"name": "band", "window": "1d", "bucket": "1d"})
    assert report["overall"]["labelled"] == len(items) and report["task"] == "multiclass"
    metrics = report["overall"]["metrics"]
    predicted, truth = np.array(native["predictions"]), np.array(labels)
    chosen = [row[BAND_CLASSES.index(label)] for row, label in zip(native["probabilities"], labels)]
    assert metrics["accuracy"] == pytest.approx(float(np.mean(predicted == truth)))
    assert metrics["log_loss"] == pytest.approx(float(-np.mean(np.log(chosen))), abs=1e-9)
    for name in set(labels):
        assert metrics[f"recall:{name}"] == pytest.approx(float(np.mean(predicted[truth == name] == name)))
    assert set(metrics) == {"accuracy", "log_loss"} | {f"recall:{name}" for name in set(labels)}
