"""The Open Inference Protocol v2 (KServe, Triton), with the binary tensor data extension.

One input tensor per feature column (shape [N] or [N, 1]); numeric features take FP64, FP32, INT64
or INT32; categorical features take BYTES, INT64, INT32 or BOOL. Outputs: `predict` (INT64 1/0 for
binary models, FP64 for regression, BYTES class names for multiclass) and `predict_proba` (FP64: shape
[N] with the positive class's probability for binary models, [N, K] with every class's probability for
multiclass ones, whose class names the model's metadata and the `predict_proba` output carry as
`parameters.classes`: a JSON array as text, since a parameter's value is a string, number or boolean in
the protocol). Tensors travel as
JSON `data`, or as raw little-endian bytes after the JSON header when `binary_data_size` is given
(request) or `binary_data` is asked for (response) — what `tritonclient[http]` does by default.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance import __version__
from appliance.contracts.features import NUMERIC, Feature
from appliance.errors import InvalidRequest, VigilError
from appliance.http import json_body
from appliance.http.wsgi import Request, Response, error_response, json_response
from appliance.serving import request_ids
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.daemon.service import Service

HEADER = "inference-header-content-length"
NUMPY = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4", "BOOL": "?"}
NUMERIC_TYPES = {"FP64", "FP32", "INT64", "INT32"}
CATEGORICAL_TYPES = {"BYTES", "INT64", "INT32", "BOOL"}
INT_RANGES = {"INT64": (-2**63, 2**63 - 1), "INT32": (-2**31, 2**31 - 1)}


def _error(error: VigilError) -> Response:
    generic = error_response(error)
    payload: dict[str, Any] = {"error": str(error)}
    if isinstance(error, InvalidRequest):
        payload["errors"] = error.errors
    return json_response(payload, generic.status, generic.headers)


def server_metadata(service: "Service", request: Request) -> Response:
    return json_response({"name": "vigil", "version": __version__, "extensions": ["binary_tensor_data"]})


def live(service: "Service", request: Request) -> Response:
    return json_response({"live": True})


def ready(service: "Service", request: Request) -> Response:
    is_ready, _ = service.readiness()
    return json_response({"ready": is_ready}, 200 if is_ready else 503)


def model_ready(service: "Service", request: Request) -> Response:
    try:
        routes = service.router.routes(request.params["name"])
    except VigilError as e:
        return _error(e)
    return json_response({"name": request.params["name"], "ready": True,
                          "version": str(routes.champion.loaded.version)})


def model_metadata(service: "Service", request: Request) -> Response:
    try:
        routes = service.router.routes(request.params["name"])
    except VigilError as e:
        return _error(e)
    loaded = routes.champion.loaded
    versions = sorted({p.loaded.version for p in (routes.champion, routes.canary, routes.shadow) if p})
    described: dict[str, Any] = {
        "name": loaded.model_name, "versions": [str(v) for v in versions], "platform": "scikit-learn",
        "inputs": [{"name": f.name, "datatype": "FP64" if f.kind == NUMERIC else "BYTES", "shape": [-1]}
                   for f in loaded.features],
        "outputs": _output_metadata(loaded.task, loaded.classes),
    }
    if loaded.task == "multiclass":
        described["parameters"] = _class_parameters(loaded.classes)
    return json_response(described)


def _output_metadata(task: str, classes: tuple[str, ...]) -> list[dict[str, Any]]:
    if task == "multiclass":
        return [{"name": "predict", "datatype": "BYTES", "shape": [-1]},
                {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)],
                 "parameters": _class_parameters(classes)}]
    outputs = [{"name": "predict", "datatype": "INT64" if task == "binary" else "FP64", "shape": [-1]}]
    if task == "binary":
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1]})
    return outputs


def _class_parameters(classes: tuple[str, ...]) -> dict[str, Any]:
    """The class names, in the order of `predict_proba`'s columns, as protocol parameters allow (text)."""
    return {"classes": json.dumps(list(classes))}


def infer(service: "Service", request: Request) -> Response:
    name = request.params["name"]
    try:
        service.access.check(request.bearer())
        header, tensors = _split_body(request)
        given = header.get("id")
        request_id = request_ids.checked(None if given == "" else given, "id")
        scored = service.scorer.score(name, lambda features: _columns(tensors, features), api="v2",
                                      request_id=request_id or None, where="inputs",
                                      routing_key=request.headers.get("x-routing-key"))
        return _answer(scored, header, request_id)
    except InvalidRequest as e:
        service.scorer.reject(name, "v2", None, e, request.body)
        return _error(e)
    except VigilError as e:
        return _error(e)


def _bad(field: str, problem: str, kind: str = "invalid_body") -> InvalidRequest:
    return InvalidRequest(f"{field}: {problem}", [{"field": field, "problem": problem, "kind": kind}])


def _split_body(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    length = request.headers.get(HEADER)
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise _bad("Inference-Header-Content-Length", "must be an integer") from None
        if not 0 < size <= len(request.body):
            raise _bad("Inference-Header-Content-Length", f"{size} does not fit a body of {len(request.body)} bytes")
        header_bytes, binary = request.body[:size], request.body[size:]
    else:
        header_bytes, binary = request.body, b""
    header = json_body.parse(header_bytes)
    if not isinstance(header, dict) or not isinstance(header.get("inputs"), list) or not header["inputs"]:
        raise _bad("inputs", "must be a non-empty list of tensors")
    return header, _tensors(header["inputs"], binary)


def _tensors(inputs: list[Any], binary: bytes) -> dict[str, Any]:
    tensors: dict[str, Any] = {}
    offset = 0
    for i, tensor in enumerate(inputs):
        where = f"inputs[{i}]"
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise _bad(where, "each input needs a 'name'")
        name, datatype, shape = tensor["name"], tensor.get("datatype"), tensor.get("shape")
        where = f"inputs.{name}"
        if datatype not in NUMPY and datatype != "BYTES":
            raise _bad(where, f"datatype {datatype!r} is not one of FP64, FP32, INT64, INT32, BOOL, BYTES", "wrong_type")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) \
                or not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise _bad(where, "shape must be [N] or [N, 1]")
        count = shape[0]
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise _bad(where, "binary_data_size runs past the end of the body")
            values = _decode(binary[offset:offset + size], datatype, count, where)
            offset += size
        else:
            values = _from_json(tensor.get("data"), datatype, count, where)
        tensors[name] = (datatype, values)
    if offset != len(binary):
        raise _bad("(body)", f"{len(binary) - offset} bytes of binary data belong to no input")
    return tensors


def _decode(raw: bytes, datatype: str, count: int, where: str) -> Any:
    values: Any
    if datatype == "BYTES":
        values, position = [], 0
        while position < len(raw):
            if position + 4 > len(raw):
                raise _bad(where, "truncated BYTES element")
            (length,) = struct.unpack_from("<I", raw, position)
            values.append(_text(raw[position + 4:position + 4 + length], f"{where}[{len(values)}]"))
            position += 4 + length
    else:
        dtype = np.dtype(NUMPY[datatype])
        if len(raw) % dtype.itemsize:
            raise _bad(where, f"binary size {len(raw)} is not a multiple of {dtype.itemsize}")
        values = np.frombuffer(raw, dtype=dtype)
    if len(values) != count:
        raise _bad(where, f"shape says {count} elements, data has {len(values)}")
    return values


def _text(raw: bytes, where: str) -> str:
    """One BYTES element as text: valid UTF-8 without NUL, like every text Vigil accepts."""
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise _bad(where, "is not valid UTF-8", "invalid_text") from None
    json_body.check_text(text, where)
    return text


def _from_json(data: Any, datatype: str, count: int, where: str) -> Any:
    if not isinstance(data, list):
        raise _bad(where, "needs 'data' or binary data")
    flat = [v for row in data for v in (row if isinstance(row, list) else [row])]
    if len(flat) != count:
        raise _bad(where, f"shape says {count} elements, data has {len(flat)}")
    if datatype == "BOOL" and not all(isinstance(v, bool) for v in flat):
        raise _bad(where, "BOOL data must be true/false", "wrong_type")
    if datatype in ("INT64", "INT32") and not all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        raise _bad(where, f"{datatype} data must be integers", "wrong_type")
    if datatype in INT_RANGES and not all(INT_RANGES[datatype][0] <= v <= INT_RANGES[datatype][1] for v in flat):
        raise _bad(where, f"{datatype} data must fit {datatype} ({INT_RANGES[datatype][0]} to "
                   f"{INT_RANGES[datatype][1]})", "number_too_large")
    if datatype == "BYTES" and not all(isinstance(v, str) for v in flat):
        raise _bad(where, "BYTES data must be strings", "wrong_type")
    return flat


def _columns(tensors: dict[str, Any], features: list[Feature]) -> dict[str, Any]:
    wanted = {f.name: f for f in features}
    problems = [{"field": f"inputs.{n}", "problem": "missing input tensor", "kind": "missing_column"}
                for n in wanted if n not in tensors]
    problems += [{"field": f"inputs.{n}", "problem": "unexpected input (not a feature of this model)",
                  "kind": "extra_column"} for n in tensors if n not in wanted]
    for name, (datatype, _) in tensors.items():
        feature = wanted.get(name)
        allowed = NUMERIC_TYPES if feature and feature.kind == NUMERIC else CATEGORICAL_TYPES
        if feature and datatype not in allowed:
            problems.append({"field": f"inputs.{name}", "kind": "wrong_type",
                             "problem": f"datatype {datatype} not accepted; use one of {sorted(allowed)}"})
    if problems:
        raise InvalidRequest(f"{problems[0]['field']}: {problems[0]['problem']}", problems, reason=problems[0]["kind"])
    lengths = {len(values) for _, values in tensors.values()}
    if len(lengths) != 1:
        raise _bad("inputs", f"tensors have different lengths {sorted(lengths)}")
    return {name: values for name, (_, values) in tensors.items()}


def _outputs(scored: Scored) -> dict[str, np.ndarray]:
    """Every output tensor of the answer: `predict` and, for classifiers, `predict_proba`."""
    if scored.task == "multiclass":
        labels = np.array(scored.labels(), dtype=object)
        return {"predict": labels, "predict_proba": np.asarray(scored.scores, dtype=np.float64)}
    outputs = {"predict": scored.predictions.astype(np.int64) if scored.task == "binary" else scored.predictions}
    if scored.scores is not None:
        outputs["predict_proba"] = scored.scores
    return outputs


def _wanted(header: dict[str, Any], outputs: dict[str, np.ndarray]) -> list[tuple[str, bool]]:
    """(output, as binary data) for each output the request asks for (all of them when it names none)."""
    requested = header.get("outputs")
    binary_default = bool((header.get("parameters") or {}).get("binary_data_output", False))
    if not requested:
        return [(name, binary_default) for name in outputs]
    wanted = []
    for item in requested:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in outputs:
            raise _bad("outputs", f"unknown output {name!r}; available: {sorted(outputs)}")
        wanted.append((name, bool((item.get("parameters") or {}).get("binary_data", binary_default))))
    return wanted


def _raw(values: np.ndarray, datatype: str) -> bytes:
    """A tensor as the binary tensor data extension carries it (BYTES: each element's 4-byte length, then it)."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values.ravel())
    return values.astype(NUMPY[datatype]).tobytes()


def _answer(scored: Scored, header: dict[str, Any], request_id: str | None) -> Response:
    outputs = _outputs(scored)
    described, chunks = [], []
    for name, as_binary in _wanted(header, outputs):
        values = outputs[name]
        datatype = "BYTES" if values.dtype == object else "INT64" if values.dtype == np.int64 else "FP64"
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(values.shape)}
        parameters: dict[str, Any] = _class_parameters(scored.classes) if name == "predict_proba" \
            and scored.task == "multiclass" else {}
        if as_binary:
            raw = _raw(values, datatype)
            parameters["binary_data_size"] = len(raw)
            chunks.append(raw)
        else:
            entry["data"] = values.ravel().tolist()
        if parameters:
            entry["parameters"] = parameters
        described.append(entry)
    payload = {"model_name": scored.model_name, "model_version": str(scored.version),
               "id": request_id or scored.request_id, "outputs": described}
    body = json.dumps(payload).encode()
    headers = [("X-Model-Version", str(scored.version)), ("X-Request-Id", scored.request_id)]
    if not chunks:
        return Response(200, body, headers=headers)
    headers.append(("Inference-Header-Content-Length", str(len(body))))
    return Response(200, body + b"".join(chunks), content_type="application/octet-stream", headers=headers)
