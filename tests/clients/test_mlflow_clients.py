"""MLflow's own client and MLflow's own scoring-server code against `/invocations`.

The served version's pipeline is saved with `mlflow.sklearn.save_model` and loaded with
`mlflow.pyfunc.load_model`; what `mlflow models serve` would answer is what MLflow's scoring server
function (`scoring_server.invocations`) answers on that model for the same bytes and content type.
Every body MLflow's `ScoringServerClient` sends (a DataFrame as `dataframe_split`, a dict of arrays and
a list of records as `inputs`), `dataframe_records`, CSV and Parquet must be answered exactly so, on
200 real rows; then params, health and version, extra columns under both policies, the other
`mlflow_output` values, and hostile CSV and Parquet bodies beside a concurrent valid client.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from daemon_support import FEATURES, Daemon, admin, start_daemon
from support import SPEC

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def mlflow_model(served_home: Path, tmp_path_factory: pytest.TempPathFactory, sample_records) -> Any:
    """The champion (v1) of the served home saved by MLflow, as a team would, and loaded by MLflow."""
    return _saved_by_mlflow(served_home, tmp_path_factory.mktemp("mlflow") / "delay", sample_records)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, flights_small: Path, sample_records) -> Iterator[dict[str, Any]]:
    """A home whose champion decides at threshold 0.35 (its spec's), served, and MLflow's copy of it."""
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("tuned")
    home, spec = root / "home", root / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 30 }")
                    .replace("seed = 7\n", "seed = 7\nthreshold = 0.35\n"))
    assert main(["init", "--home", str(home)]) == 0
    assert main(["train", "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    model = _saved_by_mlflow(home, root / "mlflow", sample_records)
    shutil.copytree(home, root / "decision-home")
    daemon = start_daemon(home, root / "daemon.log")
    try:
        yield {"daemon": daemon, "model": model, "decision_home": root / "decision-home", "root": root}
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def _saved_by_mlflow(home: Path, directory: Path, sample_records: list[dict[str, Any]]) -> Any:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from mlflow.pyfunc import load_model

    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.registry.loading import load_version_model
    from appliance.registry.versions import get_version

    with open_context(Home(home), read_only=True) as ctx:
        pipeline = load_version_model(ctx, get_version(ctx.store, "delay", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(pipeline, str(directory), serialization_format="cloudpickle",
                                  signature=infer_signature(_frame(sample_records[:50])))
        return load_model(str(directory))


def _frame(records: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(records, columns=list(records[0]))


def _mlflow_answer(model: Any, data: bytes | str, content_type: str = "application/json") -> Any:
    """What `mlflow models serve` answers: its scoring server's request handling on the loaded model."""
    from mlflow.pyfunc import scoring_server

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answered = scoring_server.invocations(data, content_type, model, model.metadata.get_input_schema())
    assert answered.status == 200, answered.response
    return json.loads(answered.response)


def _client(daemon: Daemon) -> Any:
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    host, port = daemon.url.removeprefix("http://").split(":")
    return ScoringServerClient(host, int(port))


def _post(daemon: Daemon, body: bytes, content_type: str, path: str = "/invocations") -> tuple[int, dict[str, str], Any]:
    status, headers, payload = daemon.request("POST", path, raw=body, headers={"Content-Type": content_type})
    return status, headers, json.loads(payload)


def _parquet(frame: Any, **options: Any) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **options)
    return buffer.getvalue()


def test_scoring_server_client_gets_what_mlflow_serves_on_200_rows(tuned: dict[str, Any], sample_records) -> None:
    from mlflow.utils.proto_json_utils import dump_input_data

    daemon, mlflow_model = tuned["daemon"], tuned["model"]
    frame = _frame(sample_records)
    client = _client(daemon)
    sent = {  # what ScoringServerClient.invoke sends for each kind of data it takes
        "DataFrame (dataframe_split)": frame,
        "dict of arrays (inputs)": {c: frame[c].to_numpy() for c in frame.columns},
        "list of records (inputs)": sample_records,
    }
    for name, data in sent.items():
        expected = _mlflow_answer(mlflow_model, dump_input_data(data))["predictions"]
        ours = client.invoke(data).get_predictions(predictions_format="ndarray")
        assert len(expected) == 200 and ours.tolist() == expected, name
    records = {"dataframe_records": sample_records}
    status, headers, ours = _post(daemon, json.dumps(records).encode(), "application/json")
    assert status == 200 and ours == _mlflow_answer(mlflow_model, json.dumps(records))
    logged = admin(daemon, "explain_request", {"request_id": headers["X-Request-Id"]})
    assert [int(r["prediction"]) for r in logged["rows"]] == ours["predictions"]  # the log keeps what was answered
    status, native = daemon.post("/v1/models/delay/predict", {"records": sample_records})
    differ = sum(a != b for a, b in zip(native["predictions"], ours["predictions"]))
    assert differ > 0  # the native answer decides at the version's threshold, MLflow's predict does not


def test_csv_and_parquet_as_mlflow_reads_them(client_daemon: Daemon, sample_records, mlflow_model: Any) -> None:
    frame = _frame(sample_records)
    frame.loc[3, "temp"] = np.nan  # a missing value: an empty CSV cell, a Parquet null
    bodies = {
        CSV: frame.to_csv(index=False).encode(),
        f"{CSV}; charset=utf-8": frame.to_csv(index=False).encode(),
        PARQUET: _parquet(frame),
        f"{PARQUET} (dictionary, zstd, 3 row groups)": _parquet(frame, compression="zstd", row_group_size=70),
    }
    for content_type, body in bodies.items():
        sent_type = content_type.split(" (")[0]
        expected = _mlflow_answer(mlflow_model, body, sent_type)
        for path in ("/invocations", "/v1/models/delay/predict"):
            status, headers, ours = _post(client_daemon, body, sent_type, path)
            assert status == 200 and ours == expected, (content_type, path, ours)
            assert headers["X-Model-Version"] == "1"
    for content_type in (f"{CSV}; charset=latin-1", "application/json; format=pandas-split", "text/plain"):
        status, _, answer = _post(client_daemon, bodies[CSV], content_type)
        assert status == 415 and answer["error_code"] == "BAD_REQUEST", content_type  # MLflow: 415 too


def test_ping_health_and_version_as_the_client_reads_them(client_daemon: Daemon) -> None:
    from appliance import __version__

    client = _client(client_daemon)
    client.wait_server_ready(timeout=5)
    client.ping()
    assert client.get_version() == __version__
    status, body = client_daemon.get("/health")
    assert status == 200 and body == b"\n"


def test_params_are_ignored_as_mlflow_ignores_them(client_daemon: Daemon, sample_records, mlflow_model: Any) -> None:
    records = sample_records[:20]
    for params in ({"temperature": 0.3}, 5, [1, 2], None):
        body = json.dumps({"dataframe_records": records, "params": params})
        status, _, ours = _post(client_daemon, body.encode(), "application/json")
        assert status == 200 and ours == _mlflow_answer(mlflow_model, body), params
    ours = _client(client_daemon).invoke(_frame(records), params={"predict_fn": "predict_proba"})
    expected = mlflow_model._model_impl.predict_proba(_frame(records))
    assert np.allclose(ours.get_predictions(predictions_format="ndarray"), expected, rtol=0, atol=1e-9)


def test_extra_columns_refused_by_default_and_ignored_when_set(client_daemon: Daemon, configured_daemon,
                                                               sample_records, mlflow_model: Any) -> None:
    records = [dict(r, flight_id=i) for i, r in enumerate(sample_records[:30])]
    frame = _frame(records)
    bodies = {"application/json": json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split"))}),
              CSV: frame.to_csv(index=False), PARQUET: _parquet(frame)}
    for content_type, body in bodies.items():
        raw = body.encode() if isinstance(body, str) else body
        status, _, answer = _post(client_daemon, raw, content_type)
        assert status == 400 and answer["errors"][0]["kind"] == "extra_column", content_type
        assert answer["errors"][0]["field"].endswith(".flight_id")
    daemon = configured_daemon('[serving.models.delay]\nextra_columns = "ignore"\nmlflow_output = "predict_proba"\n')
    expected = mlflow_model._model_impl.predict_proba(_frame(sample_records[:30]))
    for content_type, body in bodies.items():
        raw = body.encode() if isinstance(body, str) else body
        status, headers, ours = _post(daemon, raw, content_type)
        assert status == 200 and np.allclose(ours["predictions"], expected, rtol=0, atol=1e-9), content_type
        assert json.loads(headers["X-Ignored-Columns"]) == ["flight_id"]
        explained = admin(daemon, "explain_request", {"request_id": headers["X-Request-Id"]})
        assert set(explained["rows"][0]["inputs"]) == set(FEATURES)  # the ignored column is not logged
    status, answer = daemon.post("/v1/models/delay/predict", {"records": records})
    assert status == 200 and len(answer["predictions"]) == 30 and answer["ignored_columns"] == ["flight_id"]


def test_mlflow_output_decision_answers_and_logs_the_threshold(tuned: dict[str, Any], sample_records) -> None:
    daemon = start_daemon(tuned["decision_home"], tuned["root"] / "decision.log",
                          env={"VIGIL_SERVING_MLFLOW_OUTPUT": "decision"})
    try:
        body = {"dataframe_records": sample_records}
        status, native = daemon.post("/v1/models/delay/predict", {"records": sample_records})
        status, headers, ours = _post(daemon, json.dumps(body).encode(), "application/json")
        assert status == 200 and ours["predictions"] == native["predictions"]  # the version's threshold
        logged = admin(daemon, "explain_request", {"request_id": headers["X-Request-Id"]})
        assert [int(r["prediction"]) for r in logged["rows"]] == ours["predictions"]
        asked = json.dumps({**body, "params": {"predict_fn": "predict"}})
        status, _, ours = _post(daemon, asked.encode(), "application/json")
        assert status == 200 and ours == _mlflow_answer(tuned["model"], asked)  # a request may still ask
        assert ours["predictions"] != native["predictions"]
    finally:
        daemon.stop()


def _hostile_bodies(records: list[dict[str, Any]]) -> dict[str, tuple[bytes, str, int, str]]:
    """name: (body, content type, status, what the first error's problem or field must say)."""
    import pandas as pd

    frame = _frame(records[:5])
    wrong = frame.copy()
    wrong["distance"] = "far"
    many = _frame(records * 6)  # 1,200 rows, small on the wire
    bomb = pd.DataFrame({**{c: frame[c].iloc[0] for c in frame.columns}, "carrier": ["x" * 20_000_000]})
    repeated = pd.DataFrame([dict(records[0], carrier="y" * 100_000)] * 500)
    nested = frame.copy()
    nested["origin"] = [["JFK"]] * 5
    return {
        "CSV not UTF-8": (b"\xff\xfe\x00garbage", CSV, 400, "UTF-8"),
        "CSV empty": (b"", CSV, 400, "empty"),
        "CSV ragged": (frame.to_csv(index=False).encode() + b"1,2,3,4,5,6,7,8,9\n", CSV, 400, "fields"),
        "CSV wrong type": (wrong.to_csv(index=False).encode(), CSV, 400, "csv[0].distance"),
        "CSV too many rows": (many.to_csv(index=False).encode(), CSV, 413, "1000"),
        "Parquet garbage": (b"PAR1" + b"\x00" * 64 + b"PAR1", PARQUET, 400, "Parquet"),
        "Parquet truncated": (_parquet(frame)[:-40], PARQUET, 400, "Parquet"),
        "Parquet too many rows": (_parquet(many), PARQUET, 413, "1200 rows"),
        "Parquet decompression bomb": (_parquet(bomb, compression="zstd"), PARQUET, 413, "decompress"),
        "Parquet dictionary bomb": (_parquet(repeated, compression="zstd"), PARQUET, 413, "expand"),
        "Parquet wrong type": (_parquet(wrong), PARQUET, 400, "parquet[0].distance"),
        "Parquet nested": (_parquet(nested), PARQUET, 400, "parquet.origin"),
    }


def test_hostile_csv_and_parquet_are_4xx_and_a_concurrent_client_is_served(client_daemon: Daemon, sample_records,
                                                                          mlflow_model: Any) -> None:
    hostile = _hostile_bodies(sample_records)
    assert all(len(body) < 1_000_000 for body, *_ in hostile.values())  # all within the body limit
    good = json.dumps({"dataframe_split": json.loads(_frame(sample_records[:40]).to_json(orient="split"))})
    expected = _mlflow_answer(mlflow_model, good)
    answers: list[Any] = []
    stop = threading.Event()

    def valid_client() -> None:
        while not stop.is_set():
            status, _, payload = _post(client_daemon, good.encode(), "application/json")
            answers.append((status, payload))

    worker = threading.Thread(target=valid_client)
    worker.start()
    try:
        for name, (body, content_type, status_wanted, said) in hostile.items():
            status, _, answer = _post(client_daemon, body, content_type)
            assert status == status_wanted, (name, answer)
            assert answer["error_code"] == "BAD_REQUEST" and answer["errors"], name
            shown = answer["errors"][0]["field"] + " " + answer["errors"][0]["problem"] + " " + answer["message"]
            assert said in shown, (name, answer)
    finally:
        stop.set()
        worker.join(30)
    assert answers and all(a == (200, expected) for a in answers)
