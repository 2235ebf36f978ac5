"""MLflow's scoring protocol, the Open Inference Protocol v2 (with tritonclient), feedback, metrics."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from daemon_support import FEATURES, Daemon


def _native(daemon: Daemon, records: list[dict[str, Any]]) -> list[int]:
    return daemon.post("/v1/models/delay/predict", {"records": records})[1]["predictions"]


def _mlflow_bodies(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "dataframe_records": {"dataframe_records": records},
        "dataframe_split": {"dataframe_split": {"columns": FEATURES,
                                                "data": [[r[f] for f in FEATURES] for r in records]}},
        "instances": {"instances": records},
        "inputs (columns)": {"inputs": {f: [r[f] for r in records] for f in FEATURES}},
        "inputs (records)": {"inputs": records},
    }


@pytest.mark.parametrize("path", ["/invocations", "/v1/models/delay/predict"])
def test_every_mlflow_body_gives_the_native_answer(path: str, daemon: Daemon, sample_records) -> None:
    records = sample_records[:8]
    expected = _native(daemon, records)
    for name, body in _mlflow_bodies(records).items():
        status, answer = daemon.post(path, body)
        assert status == 200, (name, answer)
        assert answer == {"predictions": expected}, name


def test_mlflow_errors_look_like_mlflow(daemon: Daemon, sample_records) -> None:
    bad = dict(sample_records[0], distance="far")
    status, answer = daemon.post("/invocations", {"dataframe_records": [bad]})
    assert status == 400 and answer["error_code"] == "BAD_REQUEST"
    assert answer["errors"][0]["field"] == "dataframe_records[0].distance"
    status, answer = daemon.post("/invocations", {"dataframe_split": {"columns": FEATURES[:-1],
                                                                     "data": [[1] * (len(FEATURES) - 1)]}})
    assert status == 400 and answer["errors"][0] == {
        "field": "dataframe_split.origin", "problem": "missing column", "kind": "missing_column"}
    status, _, body = daemon.request("POST", "/invocations", raw=b"a,b\n1,2", headers={"Content-Type": "text/csv"})
    assert status == 400 and json.loads(body)["errors"][0] == {  # CSV is read as MLflow reads it, then checked
        "field": "csv.sched_dep_time", "problem": "missing column", "kind": "missing_column"}
    status, _, body = daemon.request("POST", "/invocations", raw=b"a,b\n1,2", headers={"Content-Type": "text/plain"})
    assert status == 415 and json.loads(body)["error_code"] == "BAD_REQUEST"
    status, answer = daemon.post("/invocations", {"records": sample_records[:1]})
    assert status == 400 and "dataframe_records" in answer["message"]


def test_open_inference_protocol_with_tritonclient_defaults(daemon: Daemon, sample_records) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=daemon.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("delay")
    metadata = client.get_model_metadata("delay")
    assert [i["name"] for i in metadata["inputs"]] == FEATURES
    records = sample_records[:6]
    inputs = []
    for spec in metadata["inputs"]:
        values = [r[spec["name"]] for r in records]
        array = np.array([v.encode() for v in values], dtype=object) if spec["datatype"] == "BYTES" \
            else np.array(values, dtype=np.float64)
        tensor = httpclient.InferInput(spec["name"], [len(records)], spec["datatype"])
        tensor.set_data_from_numpy(array)  # binary_data=True, the client's default
        inputs.append(tensor)
    result = client.infer("delay", inputs, request_id="triton-1")
    native = daemon.post("/v1/models/delay/predict", {"records": records})[1]
    assert result.as_numpy("predict").tolist() == native["predictions"]
    assert result.as_numpy("predict_proba").tolist() == pytest.approx(native["probabilities"], abs=1e-12)
    assert result.get_response()["id"] == "triton-1" and result.get_response()["model_version"] == "1"


def test_open_inference_protocol_json_tensors_and_errors(daemon: Daemon, sample_records) -> None:
    records = sample_records[:2]
    inputs = [{"name": f, "shape": [2], "datatype": "BYTES" if f in ("carrier", "origin") else "FP64",
               "data": [r[f] for r in records]} for f in FEATURES]
    status, answer = daemon.post("/v2/models/delay/infer", {"inputs": inputs})
    assert status == 200
    outputs = {o["name"]: o["data"] for o in answer["outputs"]}
    assert outputs["predict"] == _native(daemon, records)
    inputs[0]["data"] = ["early", "late"]
    status, answer = daemon.post("/v2/models/delay/infer", {"inputs": inputs})
    assert status == 400 and "FP64 data" not in answer["error"] and answer["errors"][0]["kind"] == "wrong_type"
    status, answer = daemon.post("/v2/models/delay/infer", {"inputs": inputs[1:]})
    assert status == 400 and answer["errors"][0] == {"field": "inputs.sched_dep_time",
                                                    "problem": "missing input tensor", "kind": "missing_column"}
    status, answer = daemon.post("/v2/models/other/infer", {"inputs": inputs})
    assert status == 404
    assert daemon.get("/v2/models/other/ready")[0] == 404


def test_feedback_is_idempotent_and_reports_each_item(daemon: Daemon, sample_records) -> None:
    daemon.post("/v1/models/delay/predict", {"records": sample_records[:2], "request_id": "fb-1"})
    status, answer = daemon.post("/v1/models/delay/feedback", {"request_id": "fb-1", "label": True})
    assert status == 200 and answer["results"][0]["status"] == "recorded"
    many = {"labels": [{"request_id": "fb-1", "label": True}, {"request_id": "fb-1", "row_index": 1, "label": False},
                       {"request_id": "nope", "label": True}, {"request_id": "fb-1", "row_index": 5, "label": True}]}
    bad = {"labels": [many["labels"][0], {"request_id": "fb-1", "row_index": 1, "label": 2.5}]}
    status, answer = daemon.post("/v1/models/delay/feedback", bad)  # a label the model cannot have: nothing recorded
    assert status == 400 and answer["error"]["errors"] == [{
        "field": "labels[1].label", "kind": "unknown_class",
        "problem": "'2.5' is not a class of this model; its classes are false, true"}]
    status, answer = daemon.post("/v1/models/delay/feedback", many)
    assert status == 200 and answer["listed"] == "all"
    assert [r["status"] for r in answer["results"]] == ["unchanged", "recorded", "unknown_request_id", "unknown_row"]
    malformed = {"labels": [{"request_id": "fb-1", "label": True}, {"label": True}, {"request_id": "fb-1",
                                                                                   "row_index": -1, "label": True}]}
    status, answer = daemon.post("/v1/models/delay/feedback", malformed)
    assert status == 400 and [(e["field"], e["problem"]) for e in answer["error"]["errors"]] == [
        ("labels[1].request_id", "required"), ("labels[2].row_index", "must be a non-negative integer")]
    status, answer = daemon.post("/v1/models/delay/feedback", {"request_id": "fb-1", "label": False})
    assert answer["results"][0]["status"] == "updated"
    from appliance.admin_client import call

    rows = call(str(daemon.home), "sql", {"query": "SELECT row_index, label, label_value FROM feedback "
                                                   "WHERE request_id = 'fb-1' ORDER BY row_index"})["rows"]
    assert rows == [[0, "false", 0.0], [1, "false", 0.0]]
    status, answer = daemon.post("/v1/models/delay/feedback", [1, 2])
    assert status == 400 and answer["error"]["errors"][0]["kind"] == "invalid_body"


def test_metrics_parse_with_prometheus_client(daemon: Daemon, sample_records) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})
    daemon.post("/v1/models/delay/predict", {"records": [dict(sample_records[0], temp="hot")]})
    status, body = daemon.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert status == 200
    requests = [s for s in families["vigil_requests"].samples if s.name == "vigil_requests_total"]
    assert any(s.labels == {"model": "delay", "version": "1", "route": "champion", "api": "native",
                            "status": "200"} and s.value >= 1 for s in requests)
    rejected = families["vigil_rejected_requests"].samples
    assert any(s.labels["reason"] == "wrong_type" and s.value == 1 for s in rejected)
    histogram = families["vigil_request_duration_seconds"].samples
    assert any(s.name.endswith("_count") and s.value >= 1 for s in histogram)
    assert families["vigil_prediction_log_queue_depth"].samples[0].value == 0
    assert [s.labels for s in families["vigil_loaded_versions"].samples] == [{"model": "delay", "version": "1"}]
