"""The Open Inference Protocol v2 as its own clients speak it: tritonclient.http (binary and JSON tensors,
compressed bodies, versioned paths) and KServe's InferenceRESTClient; errors seen through both clients'
exceptions; hostile binary bodies refused by name without disturbing a concurrent client."""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import threading
import zlib
from typing import Any

import numpy as np
import pytest

from appliance.admin_client import call
from daemon_support import FEATURES, Daemon

CATEGORICAL = ("carrier", "origin")
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def _native(daemon: Daemon, records: list[dict[str, Any]]) -> dict[str, Any]:
    status, answer = daemon.post("/v1/models/delay/predict", {"records": records})
    assert status == 200, answer
    return answer


def _triton(daemon: Daemon) -> Any:
    import tritonclient.http as httpclient

    return httpclient.InferenceServerClient(url=daemon.url.removeprefix("http://"))


def _triton_inputs(records: list[dict[str, Any]], binary: bool, extra: dict[str, str] | None = None) -> list[Any]:
    import tritonclient.http as httpclient

    inputs = []
    for name in [*FEATURES, *(extra or {})]:
        values = [r.get(name, (extra or {}).get(name)) for r in records]
        datatype = "BYTES" if name in CATEGORICAL or name in (extra or {}) else "FP64"
        array = np.array([v.encode() for v in values], dtype=object) if datatype == "BYTES" \
            else np.array(values, dtype=np.float64)
        tensor = httpclient.InferInput(name, [len(records)], datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


def _tensors(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": f, "shape": [len(records)], "datatype": "BYTES" if f in CATEGORICAL else "FP64",
             "data": [r[f] for r in records]} for f in FEATURES]


def _binary_body(records: list[dict[str, Any]], carrier_raw: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    """A binary-tensor request as tritonclient lays it out; `carrier_raw` replaces the carrier tensor's bytes."""
    header: dict[str, Any] = {"inputs": []}
    chunks = []
    for name in FEATURES:
        if name in CATEGORICAL:
            raw = b"".join(struct.pack("<I", len(r[name].encode())) + r[name].encode() for r in records)
            datatype = "BYTES"
        else:
            raw, datatype = np.array([r[name] for r in records], dtype="<f8").tobytes(), "FP64"
        if name == "carrier" and carrier_raw is not None:
            raw = carrier_raw
        header["inputs"].append({"name": name, "shape": [len(records)], "datatype": datatype,
                                 "parameters": {"binary_data_size": len(raw)}})
        chunks.append(raw)
    head = json.dumps(header).encode()
    return head + b"".join(chunks), {"Inference-Header-Content-Length": str(len(head)),
                                     "Content-Type": "application/octet-stream"}


def _error(daemon: Daemon, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    status, _, body = daemon.request(method, path, **kw)
    return status, json.loads(body)


class _Raw:
    """A finished HTTP answer as tritonclient's error reader takes it (status_code, read())."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status_code, self._body = status, body

    def read(self) -> bytes:
        return self._body


def test_tritonclient_binary_json_compressed_and_versioned_match_native(client_daemon: Daemon,
                                                                        sample_records) -> None:
    client = _triton(client_daemon)
    records = sample_records[:150]
    native = _native(client_daemon, records)
    for binary in (True, False):
        for compression in (None, "gzip", "deflate"):
            for version in ("", "1"):
                result = client.infer("delay", _triton_inputs(records, binary), model_version=version,
                                      request_compression_algorithm=compression,
                                      response_compression_algorithm=compression, request_id=f"t-{binary}")
                case = (binary, compression, version)
                assert result.as_numpy("predict").tolist() == native["predictions"], case
                assert result.as_numpy("predict_proba").tolist() == pytest.approx(native["probabilities"],
                                                                                  abs=1e-12), case
                assert result.get_response()["model_version"] == "1" and result.get_response()["id"] == f"t-{binary}"
    status, headers, body = client_daemon.request("POST", "/v2/models/delay/infer", {"inputs": _tensors(records)},
                                                  headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(body))["outputs"][0]["data"] == native["predictions"]


def test_tritonclient_metadata_and_readiness_per_version(client_daemon: Daemon) -> None:
    client = _triton(client_daemon)
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    metadata = client.get_model_metadata("delay")
    assert metadata == client.get_model_metadata("delay", model_version="1")
    assert metadata["versions"] == ["1"] and metadata["platform"].startswith("vigil_")
    assert [i["name"] for i in metadata["inputs"]] == FEATURES
    assert [o["name"] for o in metadata["outputs"]] == ["predict", "predict_proba"]
    assert client.is_model_ready("delay") and client.is_model_ready("delay", model_version="1")
    assert not client.is_model_ready("delay", model_version="2")  # registered, but answers no traffic
    assert not client.is_model_ready("nope")
    token = (client_daemon.home / "admin.token").read_text().strip()
    status, _, body = client_daemon.request("GET", "/admin/v1/status", headers={"Authorization": f"Bearer {token}"})
    loaded = [k[:2] for k in json.loads(body)["loaded"]]
    assert status == 200 and ["delay", 1] in loaded and ["delay", 2] not in loaded


def test_errors_reach_tritonclient_exceptions_with_our_message(client_daemon: Daemon, sample_records) -> None:
    from tritonclient.http._utils import _get_error
    from tritonclient.utils import InferenceServerException

    client = _triton(client_daemon)
    with pytest.raises(InferenceServerException) as raised:
        client.infer("delay", _triton_inputs(sample_records[:2], True), model_version="2")
    assert "[404]" in str(raised.value) and "answering: 1 (champion)" in str(raised.value)
    assert "/v2/models/delay/versions/1/" in str(raised.value)
    with pytest.raises(InferenceServerException) as raised:
        client.infer("nope", _triton_inputs(sample_records[:2], True))
    assert "[404]" in str(raised.value) and "model 'nope' is not served" in str(raised.value)
    assert "GET /readyz" in str(raised.value)
    with pytest.raises(InferenceServerException) as raised:
        client.infer("delay", _triton_inputs(sample_records[:2], True, extra={"tail_number": "N1"}))
    assert "[400]" in str(raised.value) and "inputs.tail_number" in str(raised.value)
    with pytest.raises(InferenceServerException) as raised:
        client.get_model_metadata("delay", model_version="01")
    assert "[404]" in str(raised.value) and "no version '01'" in str(raised.value)
    cases = {  # errors made before any handler runs: routing, method, size, encoding
        404: ("GET", "/v2/nothing/here", {}, "no endpoint /v2/nothing/here"),
        405: ("GET", "/v2/models/delay/infer", {}, "GET is not allowed"),
        413: ("POST", "/v2/models/delay/infer", {"raw": b"x" * 2_000_000}, "the limit is"),
        415: ("POST", "/v2/models/delay/infer", {"raw": b"{}", "headers": {"Content-Encoding": "br"}},
              "'br' is not supported"),
    }
    for status, (method, path, kw, message) in cases.items():
        found, _, body = client_daemon.request(method, path, **kw)
        assert found == status and isinstance(json.loads(body)["error"], str), (status, body)
        error = _get_error(_Raw(found, body))
        assert str(error).startswith(f"[{status}] ") and message in str(error), status


def test_kserve_rest_client_infers_and_reads_metadata(client_daemon: Daemon, sample_records) -> None:
    import httpx
    from kserve import InferInput, InferRequest
    from kserve.inference_client import InferenceRESTClient, RESTConfig
    from kserve.protocol.rest.v2_datamodels import ModelMetadataResponse, ServerMetadataResponse

    records = sample_records[:40]
    native = _native(client_daemon, records)

    def request(binary: bool) -> InferRequest:
        inputs = []
        for name in FEATURES:
            values = [r[name] for r in records]
            tensor = InferInput(name, [len(records)], "BYTES" if name in CATEGORICAL else "FP64")
            tensor.set_data_from_numpy(np.array(values, dtype=object if name in CATEGORICAL else np.float64),
                                       binary_data=binary)
            inputs.append(tensor)
        return InferRequest(model_name="delay", infer_inputs=inputs, request_id="kserve-1")

    async def run() -> dict[str, Any]:
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        try:
            found: dict[str, Any] = {
                "live": await client.is_server_live(client_daemon.url),
                "ready": await client.is_server_ready(client_daemon.url),
                "model_ready": await client.is_model_ready(client_daemon.url, "delay"),
                "unknown_ready": await client.is_model_ready(client_daemon.url, "nope"),
                "answers": [await client.infer(client_daemon.url, request(b), model_name="delay") for b in (True, False)]}
            for model, headers in (("nope", None), ("delay", {"Content-Encoding": "br"})):
                try:
                    await client.infer(client_daemon.url, request(False), model_name=model, headers=headers)
                except httpx.HTTPStatusError as e:
                    found[f"error {model}"] = str(e)
            return found
        finally:
            await client.close()

    found = asyncio.run(run())
    assert found["live"] and found["ready"] and found["model_ready"] and not found["unknown_ready"]
    for answer in found["answers"]:
        outputs = {o.name: o for o in answer.outputs}
        assert outputs["predict"].as_numpy().tolist() == native["predictions"]
        assert outputs["predict_proba"].as_numpy().tolist() == pytest.approx(native["probabilities"], abs=1e-12)
        assert answer.id == "kserve-1"
    assert "model 'nope' is not served" in found["error nope"] and "404 Not Found" in found["error nope"]
    assert "'br' is not supported" in found["error delay"] and "415" in found["error delay"]
    for path in ("/v2/models/delay", "/v2/models/delay/versions/1"):
        status, body = client_daemon.get(path)
        assert status == 200 and ModelMetadataResponse.model_validate_json(body).versions == ["1"]
    assert ServerMetadataResponse.model_validate_json(client_daemon.get("/v2")[1]).name == "vigil"


def test_hostile_binary_bodies_are_refused_by_name_while_a_client_scores(client_daemon: Daemon,
                                                                         sample_records) -> None:
    records = sample_records[:3]
    expected = _native(client_daemon, records)["predictions"]
    stop, answers = threading.Event(), []

    def valid_client() -> None:
        client = _triton(client_daemon)
        while not stop.is_set():
            answers.append(client.infer("delay", _triton_inputs(records, True)).as_numpy("predict").tolist())

    thread = threading.Thread(target=valid_client)
    thread.start()
    try:
        past_end = struct.pack("<I", 2) + b"UA" + struct.pack("<I", 1000) + b"DL" + struct.pack("<I", 2) + b"B6"
        status, found = _post_binary(client_daemon, records, past_end)
        assert status == 400 and found["errors"][0]["field"] == "inputs.carrier[1]"
        assert "length prefix 1000 runs past" in found["error"]
        bad_text = b"".join(struct.pack("<I", 2) + v for v in (b"UA", b"\xff\xfe", b"B6"))
        status, found = _post_binary(client_daemon, records, bad_text)
        assert status == 400 and found["errors"][0] == {
            "field": "inputs.carrier[1]", "problem": "is not valid UTF-8 (byte 0); BYTES inputs must be text",
            "kind": "invalid_text"}
        body, headers = _binary_body(records)
        status, _, raw = client_daemon.request("POST", "/v2/models/delay/infer", raw=body + b"\0" * 7,
                                               headers=headers)
        assert status == 400 and "7 bytes of binary data belong to no input" in json.loads(raw)["error"]
        bomb = gzip.compress(b"{" + b" " * 60_000_000 + b"}", 9)
        assert len(bomb) < 100_000
        status, found = _error(client_daemon, "POST", "/v2/models/delay/infer", raw=bomb,
                               headers={"Content-Encoding": "gzip"})
        assert status == 413 and "serving.max_body_bytes" in found["error"]
        status, found = _error(client_daemon, "POST", "/v2/models/delay/infer", raw=zlib.compress(b"{}")[:-3],
                               headers={"Content-Encoding": "deflate"})
        assert status == 400 and "not valid deflate data" in found["error"]
        nested = _tensors(records)
        nested[1]["data"] = [[v, v] for v in nested[1]["data"]]
        nested[1]["shape"] = [3, 1]
        status, found = client_daemon.post("/v2/models/delay/infer", {"inputs": nested})
        assert status == 400 and found["errors"][0]["field"] == "inputs.distance"
        short = _tensors(records)
        short[2]["data"] = short[2]["data"][:2]
        status, found = client_daemon.post("/v2/models/delay/infer", {"inputs": short})
        assert status == 400 and found["errors"][0]["field"] == "inputs.temp" and "3 rows" in found["error"]
    finally:
        stop.set()
        thread.join(30)
    assert answers and all(a == expected for a in answers)


def _post_binary(daemon: Daemon, records: list[dict[str, Any]], carrier: bytes) -> tuple[int, dict[str, Any]]:
    body, headers = _binary_body(records, carrier)
    status, _, raw = daemon.request("POST", "/v2/models/delay/infer", raw=body, headers=headers)
    return status, json.loads(raw)


def _promote(daemon: Daemon, version: int, alias: str, percent: float | None = None) -> None:
    call(str(daemon.home), "promote", {"name": "delay", "version": version, "alias": alias, "reason": "test",
                                       "percent": percent, "actor": "tester"})


def test_versioned_paths_answer_only_versions_in_front_of_traffic(daemon: Daemon, sample_records) -> None:
    client = _triton(daemon)
    records = sample_records[:20]
    champion = _native(daemon, records)
    _promote(daemon, 2, "shadow")
    assert not client.is_model_ready("delay", model_version="2")
    assert client.get_model_metadata("delay")["versions"] == ["1"]
    status, found = daemon.post("/v2/models/delay/versions/2/infer", {"inputs": _tensors(records)})
    assert status == 404 and "answering: 1 (champion)" in found["error"]
    _promote(daemon, 2, "canary", percent=100)
    canary = _native(daemon, records)
    assert canary["version"] == 2 and canary["route"] == "canary"
    assert client.get_model_metadata("delay")["versions"] == ["1", "2"]
    assert client.get_model_metadata("delay", model_version="2")["name"] == "delay"
    for version, expected, request_id in (("1", champion, "pinned-1"), ("2", canary, "pinned-2")):
        result = client.infer("delay", _triton_inputs(records, True), model_version=version, request_id=request_id)
        assert result.get_response()["model_version"] == version
        assert result.as_numpy("predict").tolist() == expected["predictions"]
        assert result.as_numpy("predict_proba").tolist() == pytest.approx(expected["probabilities"], abs=1e-12)
    logged = call(str(daemon.home), "sql", {"query": "SELECT DISTINCT request_id, version, route, api FROM prediction_log "
                                            "WHERE request_id LIKE 'pinned-%' AND route <> 'shadow' ORDER BY ALL"})["rows"]
    assert logged == [["pinned-1", 1, "champion", "v2"], ["pinned-2", 2, "canary", "v2"]]


def test_extra_tensors_follow_the_model_policy_and_keys_guard_v2(configured_daemon, sample_records, cli) -> None:
    from tritonclient.utils import InferenceServerException

    daemon = configured_daemon("[serving]\nrequire_api_key = true\n[serving.models.delay]\n"
                               "extra_columns = \"ignore\"\n")
    key = json.loads(cli("api-keys", "add", "triton", "--json", "--home", daemon.home).out)["key"]
    client = _triton(daemon)
    records = sample_records[:4]
    with pytest.raises(InferenceServerException) as raised:
        client.infer("delay", _triton_inputs(records, True))
    assert "[401]" in str(raised.value) and "needs an API key" in str(raised.value)
    auth = {"Authorization": f"Bearer {key}"}
    result = client.infer("delay", _triton_inputs(records, True, extra={"tail_number": "N1"}), headers=auth)
    assert result.get_response()["parameters"] == {"ignored_inputs": '["tail_number"]'}
    assert result.as_numpy("predict").tolist() == \
        daemon.post("/v1/models/delay/predict", {"records": records}, headers=auth)[1]["predictions"]
