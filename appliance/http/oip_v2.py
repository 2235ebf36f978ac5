"""The Open Inference Protocol v2 (KServe, Triton), with the binary tensor data extension.

Paths: `GET /v2`, `/v2/health/live`, `/v2/health/ready`, and for a model, with or without
`/versions/{version}`: `GET /v2/models/{name}[/versions/{version}]` (metadata),
`GET .../ready`, `POST .../infer`. A version may be asked for by path only while it answers traffic
(the champion, and the canary while it has a share); a shadow never answers, and a registered version
that no release put in front of traffic is never loaded for a client: both are 404, naming the versions
that do answer. Without a version, the champion describes the model and the router picks who answers.

One input tensor per feature column (shape [N] or [N, 1]); numeric features take FP64, FP32, INT64
or INT32; categorical features take BYTES, INT64, INT32 or BOOL. Outputs: `predict` (INT64 1/0 for
binary models, FP64 for regression, BYTES class names for multiclass) and `predict_proba` (FP64: shape
[N] with the positive class's probability for binary models, [N, K] with every class's probability for
multiclass ones, whose class names the model's metadata and the `predict_proba` output carry as
`parameters.classes`: a JSON array as text, since a parameter's value is a string, number or boolean in
the protocol). Tensors travel as JSON `data`, or as raw little-endian bytes after the JSON header when
`binary_data_size` is given (request) or `binary_data` is asked for (response) — what
`tritonclient[http]` does by default. A request body may be gzip or deflate (`Content-Encoding`), and
an answer is compressed when the client asks (`Accept-Encoding`).

A request's `parameters.event_time` (ISO-8601 text or epoch seconds) is the event time of every row;
instead, an input tensor named by the model's `serving.event_time_column` (BYTES of ISO-8601 text, or
INT64 or FP64 epoch seconds; one element per row) carries each row's, and is no feature.

Every error under `/v2` has the protocol's shape, `{"error": "<message>"}` (plus `errors`, naming
each bad field): `protocol_error` reshapes what the one error mapping (`wsgi.error_response`) decides.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance import __version__
from appliance.contracts.features import NUMERIC, Feature
from appliance.errors import InvalidRequest, ModelNotServed
from appliance.http import content_encoding, json_body, oip_tensors
from appliance.http.oip_bodies import (ErrorBody, InferenceRequest, InferenceResponse, MetadataTensor, ModelMetadata,
                                       ModelReady, ResponseOutput, ServerLive, ServerMetadata, ServerReady,
                                       inference_request)
from appliance.http.oip_tensors import NUMPY, Tensor, bad
from appliance.http.wsgi import Request, Response, error_response, json_response
from appliance.serving import request_ids, request_times
from appliance.serving.batching import Predictor
from appliance.serving.request_frame import ReadColumns
from appliance.serving.routing import Routes
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.http.host import HttpHost

HEADER = "inference-header-content-length"
NUMERIC_TYPES = {"FP64", "FP32", "INT64", "INT32"}
CATEGORICAL_TYPES = {"BYTES", "INT64", "INT32", "BOOL"}
EVENT_TIME_TYPES = {"BYTES", "INT64", "FP64"}  # text, or seconds: INT32 ends in 2038, FP32 keeps 7 digits
MAX_SHOWN = 64  # characters of a client's model name or version repeated in a message


def is_protocol_path(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def protocol_error(error: BaseException) -> Response:
    """`error` as the protocol answers it: the status and headers Vigil's error mapping gives it, the body
    `{"error": message}` (tritonclient and KServe's client show `error`), with `errors` naming each field."""
    generic = error_response(error)
    found = json.loads(generic.body)["error"]
    body = ErrorBody(error=found["message"], errors=found.get("errors"))
    return json_response(body.model_dump(exclude_none=True), generic.status, generic.headers)


def server_metadata(service: "HttpHost", request: Request) -> Response:
    return _json(ServerMetadata(name="vigil", version=__version__, extensions=["binary_tensor_data"]))


def live(service: "HttpHost", request: Request) -> Response:
    return _json(ServerLive(live=True))


def ready(service: "HttpHost", request: Request) -> Response:
    is_ready, _ = service.readiness()
    return _json(ServerReady(ready=is_ready), 200 if is_ready else 503)


def model_ready(service: "HttpHost", request: Request) -> Response:
    name = request.params["name"]
    _, predictor = _addressed(service.router.routes(name), name, request.params.get("version"))
    return _json(ModelReady(name=name, ready=True, version=str(predictor.loaded.version)))


def model_metadata(service: "HttpHost", request: Request) -> Response:
    name = request.params["name"]
    routes = service.router.routes(name)
    loaded = _addressed(routes, name, request.params.get("version"))[1].loaded
    multiclass = loaded.task == "multiclass"
    return _json(ModelMetadata(
        name=loaded.model_name, versions=[str(v) for v in sorted(routes.serving())],
        platform="vigil_" + loaded.engine.replace(" ", "_"),
        inputs=[MetadataTensor(name=f.name, datatype="FP64" if f.kind == NUMERIC else "BYTES", shape=[-1])
                for f in loaded.features],
        outputs=_output_metadata(loaded.task, loaded.classes),
        parameters=_class_parameters(loaded.classes) if multiclass else None))


def infer(service: "HttpHost", request: Request) -> Response:
    name = request.params["name"]
    body = request.body
    try:
        service.access.check(request.bearer())
        version = _version(service, name, request.params.get("version"))
        body = content_encoding.decoded(request.body, request.headers.get("content-encoding"),
                                        service.config.serving.max_body_bytes)
        header, tensors = _split_body(body, request.headers.get(HEADER))
        request_id = request_ids.checked(header.id or None, "id")
        event_time = request_times.given("parameters.event_time", (header.parameters or {}).get("event_time"))
        column = service.config.serving.policy_for(name).event_time_column
        scored = service.scorer.score(name, lambda features: _columns(tensors, features, column), api="v2",
                                      request_id=request_id, where="inputs", version=version,
                                      routing_key=_routing_key(request), event_time=event_time)
    except InvalidRequest as e:
        service.scorer.reject(name, "v2", None, e, body)
        raise
    return _compressed(_answer(scored, header, request_id), request.headers.get("accept-encoding"))


def _json(model: Any, status: int = 200) -> Response:
    return json_response(model.model_dump(exclude_none=True), status)


def _addressed(routes: Routes, name: str, version: str | None) -> tuple[str, Predictor]:
    """(route, predictor) the path names: the champion without a version, else a version answering traffic."""
    if version is None:
        return "champion", routes.champion
    serving = routes.serving()
    found = next((v for v in serving if str(v) == version), None)
    if found is None:
        listed = ", ".join(f"{v} ({route})" for v, (route, _) in sorted(serving.items()))
        first = min(serving)
        raise ModelNotServed(
            f"model '{name}' has no version '{version[:MAX_SHOWN]}' answering traffic (answering: {listed}); "
            f"use /v2/models/{name}/versions/{first}/..., or /v2/models/{name}/... to let the router choose")
    return serving[found]


def _version(service: "HttpHost", name: str, version: str | None) -> int | None:
    """The version a versioned path pins (404 unless it answers traffic), or None for the router's choice."""
    if version is None:
        return None
    return _addressed(service.router.routes(name), name, version)[1].loaded.version


def _routing_key(request: Request) -> str | None:
    key = request.headers.get("x-routing-key")
    if key is not None and not 0 < len(key) <= 128:
        raise bad("X-Routing-Key", "must be 1 to 128 characters")
    return key


def _split_body(body: bytes, length: str | None) -> tuple[InferenceRequest, dict[str, Tensor]]:
    """The JSON header (all of the body, or its first Inference-Header-Content-Length bytes) and the tensors."""
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise bad("Inference-Header-Content-Length", "must be an integer") from None
        if not 0 < size <= len(body):
            raise bad("Inference-Header-Content-Length", f"{size} does not fit a body of {len(body)} bytes")
        header_bytes, binary = body[:size], body[size:]
    else:
        header_bytes, binary = body, b""
    header = inference_request(json_body.parse(header_bytes))
    return header, oip_tensors.read(header.inputs, binary)


def _columns(tensors: dict[str, Tensor], features: list[Feature], event_column: str = "") -> ReadColumns:
    """The answering version's feature columns; extra tensors are left to the model's policy (refused or
    ignored, `serving.extra_columns`); the event-time tensor, unless a feature has its name, is read as times."""
    wanted = {f.name: f for f in features}
    event = event_column if event_column in tensors and event_column not in wanted else ""
    columns = ReadColumns({n: tensors[n].values for n in wanted if n in tensors})
    for name in wanted:
        if name not in tensors:
            columns.problem(f"inputs.{name}", "missing input tensor", "missing_column")
    for name in tensors:
        if name not in wanted and name != event:
            columns.unexpected(f"inputs.{name}", name)
    for name, values in columns.items():
        allowed = NUMERIC_TYPES if wanted[name].kind == NUMERIC else CATEGORICAL_TYPES
        if tensors[name].datatype not in allowed:
            columns.problem(f"inputs.{name}", f"datatype {tensors[name].datatype} not accepted; use one of "
                            f"{sorted(allowed)}", "wrong_type")
    lengths = {len(values) for values in columns.values()}
    if event:
        lengths.add(len(tensors[event].values))
    if len(lengths) > 1:
        raise bad("inputs", f"tensors have different lengths {sorted(lengths)}")
    if event:
        _event_tensor(columns, tensors[event], event)
    return columns


def _event_tensor(columns: ReadColumns, tensor: Tensor, name: str) -> None:
    """The event-time tensor's elements read as times, each bad one named (`inputs[3].happened_at`)."""
    if tensor.datatype not in EVENT_TIME_TYPES:
        columns.problem(f"inputs.{name}", f"datatype {tensor.datatype} not accepted for event times; use one of "
                        f"{sorted(EVENT_TIME_TYPES)}", "wrong_type")
        return
    values = tensor.values.tolist() if isinstance(tensor.values, np.ndarray) else tensor.values
    columns.take_event_times(values, "inputs", name)


def _output_metadata(task: str, classes: tuple[str, ...]) -> list[MetadataTensor]:
    if task == "multiclass":
        return [MetadataTensor(name="predict", datatype="BYTES", shape=[-1]),
                MetadataTensor(name="predict_proba", datatype="FP64", shape=[-1, len(classes)],
                               parameters=_class_parameters(classes))]
    outputs = [MetadataTensor(name="predict", datatype="INT64" if task == "binary" else "FP64", shape=[-1])]
    if task == "binary":
        outputs.append(MetadataTensor(name="predict_proba", datatype="FP64", shape=[-1]))
    return outputs


def _class_parameters(classes: tuple[str, ...]) -> dict[str, Any]:
    """The class names, in the order of `predict_proba`'s columns, as protocol parameters allow (text)."""
    return {"classes": json.dumps(list(classes))}


def _outputs(scored: Scored) -> dict[str, np.ndarray]:
    """Every output tensor of the answer: `predict` and, for classifiers, `predict_proba`."""
    if scored.task == "multiclass":
        labels = np.array(scored.labels(), dtype=object)
        return {"predict": labels, "predict_proba": np.asarray(scored.scores, dtype=np.float64)}
    outputs = {"predict": scored.predictions.astype(np.int64) if scored.task == "binary" else scored.predictions}
    if scored.scores is not None:
        outputs["predict_proba"] = scored.scores
    return outputs


def _wanted(header: InferenceRequest, outputs: dict[str, np.ndarray]) -> list[tuple[str, bool]]:
    """(output, as binary data) for each output the request asks for (all of them when it names none)."""
    binary_default = bool((header.parameters or {}).get("binary_data_output", False))
    if not header.outputs:
        return [(name, binary_default) for name in outputs]
    wanted = []
    for item in header.outputs:
        if item.name not in outputs:
            raise bad("outputs", f"unknown output {item.name[:MAX_SHOWN]!r}; available: {sorted(outputs)}")
        wanted.append((item.name, bool((item.parameters or {}).get("binary_data", binary_default))))
    return wanted


def _raw(values: np.ndarray, datatype: str) -> bytes:
    """A tensor as the binary tensor data extension carries it (BYTES: each element's 4-byte length, then it)."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values.ravel())
    return values.astype(NUMPY[datatype]).tobytes()


def _answer(scored: Scored, header: InferenceRequest, request_id: str | None) -> Response:
    outputs = _outputs(scored)
    described, chunks = [], []
    for name, as_binary in _wanted(header, outputs):
        values = outputs[name]
        datatype = "BYTES" if values.dtype == object else "INT64" if values.dtype == np.int64 else "FP64"
        parameters: dict[str, Any] = _class_parameters(scored.classes) if name == "predict_proba" \
            and scored.task == "multiclass" else {}
        data = None
        if as_binary:
            chunks.append(_raw(values, datatype))
            parameters["binary_data_size"] = len(chunks[-1])
        else:
            data = values.ravel().tolist()
        described.append(ResponseOutput(name=name, datatype=datatype, shape=list(values.shape),
                                        parameters=parameters or None, data=data))
    ignored = scored.ignored_columns
    answer = InferenceResponse(model_name=scored.model_name, model_version=str(scored.version),
                               id=request_id or scored.request_id, outputs=described,
                               parameters={"ignored_inputs": json.dumps(list(ignored))} if ignored else None)
    body = json.dumps(answer.model_dump(exclude_none=True)).encode()
    headers = [("X-Model-Version", str(scored.version)), ("X-Request-Id", scored.request_id)]
    if not chunks:
        return Response(200, body, headers=headers)
    headers.append(("Inference-Header-Content-Length", str(len(body))))
    return Response(200, body + b"".join(chunks), content_type="application/octet-stream", headers=headers)


def _compressed(response: Response, accept_encoding: str | None) -> Response:
    """The answer gzip- or deflate-compressed when the client accepts it and it is worth it; the
    Inference-Header-Content-Length still counts the uncompressed JSON, as tritonclient reads it."""
    coding = content_encoding.accepted(accept_encoding)
    headers = [*response.headers, ("Vary", "Accept-Encoding")]
    if coding is None or len(response.body) < content_encoding.MIN_COMPRESSED_RESPONSE:
        return Response(response.status, response.body, response.content_type, headers)
    return Response(response.status, content_encoding.compressed(response.body, coding), response.content_type,
                    [*headers, ("Content-Encoding", coding)])
