"""`GET /openapi.json`: every route of the daemon described as OpenAPI 3.1, generated from the pydantic
models its handlers validate and answer with (`bodies`, `oip_bodies`, `operation_args`).

The route table is the list of paths: a path is described because it is routed, and a routed path
with no description here still appears (bare), so a test can tell. The admin API's one route,
`POST /admin/v1/ops/{name}`, is described as one path per operation, each with its arguments' model
and the least role it needs, so a client sees every operation and its schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from appliance import __version__
from appliance.http import bodies, oip_bodies

REF = "#/components/schemas/{model}"
OPS = "/admin/v1/ops/{name}"
JSON = "application/json"
TEXT_ERRORS = {400: "Invalid request: each bad field is named", 401: "Missing or wrong token or API key",
               403: "The caller's role does not allow the operation (the refusal is audited)",
               404: "Not found: the model, version or thing named", 410: "The version's artifact was deleted by retention",
               413: "Body or row count over the limit", 415: "Unsupported content type",
               429: "Over the API key's rate limit (see Retry-After)",
               503: "Overloaded, shutting down or not ready (see Retry-After)"}
SCORING_ERRORS = (400, 401, 404, 413, 429, 503)
Schema = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """What one route takes and answers: each body as a model (or a schema where no model exists)."""

    summary: str
    request: dict[str, Any] = field(default_factory=dict)  # content type -> model or schema
    answer: Any = None  # the 200 body: model, schema, or None (no JSON body described)
    answer_type: str = JSON
    errors: tuple[int, ...] = ()
    error_model: Any = bodies.ErrorAnswer
    security: str | None = None  # "optional" (API keys, when configured), "admin" (bearer token) or None
    headers: tuple[str, ...] = ()  # request headers a client may send instead of body fields
    answer_status: tuple[int, ...] = (200,)


_MLFLOW_TABLE: Schema = {"oneOf": [
    {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": {"type": bodies.SCALAR}}},
    {"type": "object", "minProperties": 1, "additionalProperties": {"type": "array", "items": {"type": bodies.SCALAR}}}]}
_MLFLOW_SPLIT: Schema = {"type": "object", "required": ["columns", "data"], "properties": {
    "columns": {"type": "array", "items": {"type": "string"}}, "index": {"type": "array"},
    "data": {"type": "array", "minItems": 1, "items": {"type": "array", "items": {"type": bodies.SCALAR}}}}}
_PARAMS: Schema = {"type": "object", "description": "Ignored, as MLflow ignores params a model does not take; "
                   "except predict_fn, which chooses predict (labels) or predict_proba, and event_time, the event "
                   "time of every row", "properties": {
                       "predict_fn": {"enum": ["predict", "predict_proba"]},
                       "event_time": {"type": ["string", "number", "null"],
                                      "description": "When what is scored happened: " + bodies.EVENT_TIME_FORMS}}}


def mlflow_body() -> Schema:
    """MLflow's JSON scoring body: exactly one of its four forms, with optional `params`."""
    forms = {"dataframe_records": _MLFLOW_TABLE, "dataframe_split": _MLFLOW_SPLIT, "instances": _MLFLOW_TABLE,
             "inputs": _MLFLOW_TABLE}
    return {"oneOf": [{"type": "object", "required": [name], "additionalProperties": False,
                       "properties": {name: schema, "params": _PARAMS}} for name, schema in forms.items()]}


_MLFLOW_ANSWER: Schema = {"type": "object", "required": ["predictions"], "properties": {"predictions": {
    "type": "array", "description": "predict: one label or value per row; predict_proba: one list of class "
                                    "probabilities per row"}}}
_MLFLOW_ERROR: Schema = {"type": "object", "required": ["error_code", "message"], "properties": {
    "error_code": {"type": "string"}, "message": {"type": "string"}, "errors": {"type": "array"}}}
_CSV: Schema = {"type": "string", "description": "A header line naming the columns, then one line per row"}
_PARQUET: Schema = {"type": "string", "format": "binary", "description": "A Parquet file (pandas.DataFrame.to_parquet)"}
_BINARY_TENSORS: Schema = {"type": "string", "format": "binary", "description": (
    "The JSON inference request, then each tensor's raw bytes (binary tensor data extension); "
    "the Inference-Header-Content-Length header gives the JSON's length")}


def _oip(summary: str, answer: Any, errors: tuple[int, ...] = (404, 503), **kw: Any) -> Endpoint:
    return Endpoint(summary, answer=answer, errors=errors, error_model=oip_bodies.ErrorBody, **kw)


_INFER = {JSON: oip_bodies.InferenceRequest, "application/octet-stream": _BINARY_TENSORS}
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("GET", "/healthz"): Endpoint("The process is alive", answer=bodies.Alive, errors=()),
    ("GET", "/readyz"): Endpoint("The store is open and every champion loaded (503 until then)", answer=bodies.Ready,
                                 answer_status=(200, 503)),
    ("GET", "/metrics"): Endpoint("Prometheus metrics (text exposition format)", answer={"type": "string"},
                                  answer_type="text/plain", errors=(503,)),
    ("GET", "/openapi.json"): Endpoint("This document", answer={"type": "object"}, errors=(503,)),
    ("POST", "/v1/models/{name}/predict"): Endpoint(
        "Score records with the model's champion (or canary); MLflow's JSON bodies are accepted too",
        request={JSON: {"anyOf": [bodies.PredictBody, mlflow_body()]}},
        answer={"anyOf": [bodies.PredictAnswer, _MLFLOW_ANSWER]}, errors=SCORING_ERRORS,
        error_model={"anyOf": [bodies.ErrorAnswer, _MLFLOW_ERROR]}, security="optional",
        headers=("X-Request-Id", "X-Routing-Key")),
    ("POST", "/v1/models/{name}/feedback"): Endpoint(
        "Record ground-truth labels by request_id (idempotent): one, or up to 100,000 in one transaction",
        request={JSON: {"oneOf": [bodies.Label, bodies.Labels]}}, answer=bodies.FeedbackAnswer,
        errors=(400, 401, 404, 413, 429, 503), security="optional"),
    ("POST", "/invocations"): Endpoint(
        "MLflow's scoring-server protocol, for the default model (serving.default_model, or the one served)",
        request={JSON: mlflow_body(), "text/csv": _CSV, "application/vnd.apache.parquet": _PARQUET},
        answer=_MLFLOW_ANSWER, errors=SCORING_ERRORS + (415,), error_model=_MLFLOW_ERROR, security="optional",
        headers=("X-Request-Id", "X-Routing-Key")),
    ("GET", "/ping"): Endpoint("MLflow's health check: 200 when the daemon answers", errors=(503,)),
    ("GET", "/health"): Endpoint("MLflow's health check: 200 when the daemon answers", errors=(503,)),
    ("GET", "/version"): Endpoint("The server's version, as MLflow's /version answers it", errors=(503,)),
    ("GET", "/v2"): _oip("Open Inference Protocol: server metadata", oip_bodies.ServerMetadata, (503,)),
    ("GET", "/v2/health/live"): _oip("Open Inference Protocol: server liveness", oip_bodies.ServerLive, (503,)),
    ("GET", "/v2/health/ready"): _oip("Open Inference Protocol: server readiness (503 until ready)",
                                      oip_bodies.ServerReady, (503,)),
    ("GET", "/v2/models/{name}"): _oip("Open Inference Protocol: model metadata (its champion's)",
                                       oip_bodies.ModelMetadata),
    ("GET", "/v2/models/{name}/ready"): _oip("Open Inference Protocol: model readiness", oip_bodies.ModelReady),
    ("POST", "/v2/models/{name}/infer"): _oip(
        "Open Inference Protocol: score with the model's champion (or canary); JSON or binary tensors; "
        "a gzip or deflate body with Content-Encoding", oip_bodies.InferenceResponse,
        (400, 401, 404, 413, 415, 429, 503), request=_INFER, security="optional", headers=("X-Routing-Key",)),
    ("GET", "/v2/models/{name}/versions/{version}"): _oip(
        "Open Inference Protocol: metadata of a version answering traffic", oip_bodies.ModelMetadata),
    ("GET", "/v2/models/{name}/versions/{version}/ready"): _oip(
        "Open Inference Protocol: readiness of a version", oip_bodies.ModelReady),
    ("POST", "/v2/models/{name}/versions/{version}/infer"): _oip(
        "Open Inference Protocol: score with this version (one answering traffic)", oip_bodies.InferenceResponse,
        (400, 401, 404, 413, 415, 429, 503), request=_INFER, security="optional", headers=("X-Routing-Key",)),
    ("GET", "/admin/v1/status"): Endpoint("The daemon's state (the daemon's admin token only)",
                                          answer=bodies.DaemonStatus, errors=(401,), security="admin"),
}


def document(patterns: list[tuple[str, str]], *, max_rows: int) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes `patterns` ((method, path pattern), as routed)."""
    declared = _declarations(patterns)
    refs, components = _schemas(declared)
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), endpoint in declared.items():
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, endpoint, refs)
    _limit_rows(components, max_rows)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil", "version": __version__,
                 "description": "Scoring (native, MLflow, Open Inference Protocol v2), feedback, health, "
                                "metrics and the admin API of one Vigil daemon."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A scoring API key (scoring paths), a user's token or the daemon's admin "
                                      "token (admin paths)"}}},
    }


def _declarations(patterns: list[tuple[str, str]]) -> dict[tuple[str, str], Endpoint]:
    """Each routed (method, path) with its description; the admin route as one path per operation."""
    from appliance.operations import NOT_IN_DAEMON, OPERATIONS, required_role

    found: dict[tuple[str, str], Endpoint] = {}
    for method, path in patterns:
        if (method, path) == ("POST", OPS):
            for name, spec in sorted(OPERATIONS.items()):
                if name not in NOT_IN_DAEMON:
                    found[(method, OPS.replace("{name}", name))] = _admin(name, spec.args, required_role(name))
        else:
            found[(method, path)] = ENDPOINTS.get((method, path), Endpoint("(not described)"))
    return found


def _admin(name: str, args: type[BaseModel], role: str) -> Endpoint:
    summary = f"{(args.__doc__ or name).strip().splitlines()[0]} (operation '{name}'; needs the role {role})"
    return Endpoint(summary, request={JSON: args}, answer=bodies.OperationAnswer,
                    errors=(400, 401, 403, 404, 410, 413, 503), security="admin")


def _schemas(declared: dict[tuple[str, str], Endpoint]) -> tuple[dict[Any, Schema], dict[str, Schema]]:
    """A `$ref` for each model the endpoints name, and the components they point to."""
    requests: set[type[BaseModel]] = set()
    answers: set[type[BaseModel]] = set()
    for endpoint in declared.values():
        for spec in endpoint.request.values():
            requests.update(_models(spec))
        answers.update(_models(endpoint.answer))
        answers.update(_models(endpoint.error_model))
    wanted: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = \
        [(m, "validation") for m in sorted(requests, key=_key)] + [(m, "serialization") for m in sorted(answers, key=_key)]
    refs, schema = models_json_schema(wanted, ref_template=REF)
    return {model: ref for (model, _), ref in refs.items()}, schema.get("$defs", {})


def _models(spec: Any) -> list[type[BaseModel]]:
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return [spec]
    if isinstance(spec, dict):
        return [m for value in spec.values() for item in (value if isinstance(value, list) else [value])
                for m in _models(item)]
    if isinstance(spec, list):
        return [m for item in spec for m in _models(item)]
    return []


def _key(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def _resolve(spec: Any, refs: dict[Any, Schema]) -> Any:
    """A schema with every model in it replaced by its `$ref`."""
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return refs[spec]
    if isinstance(spec, dict):
        return {key: _resolve(value, refs) for key, value in spec.items()}
    if isinstance(spec, list):
        return [_resolve(item, refs) for item in spec]
    return spec


def _operation(path: str, method: str, endpoint: Endpoint, refs: dict[Any, Schema]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": endpoint.summary, "operationId": _operation_id(method, path),
                                 "responses": _responses(endpoint, refs)}
    parameters = [_path_parameter(name) for name in _path_names(path)]
    parameters += [{"name": header, "in": "header", "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[A-Za-z0-9._:-]+$"}}
                   for header in endpoint.headers]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request:
        required = any(_has_required(spec) for spec in endpoint.request.values())
        operation["requestBody"] = {"required": required, "content": {
            kind: {"schema": _resolve(spec, refs)} for kind, spec in endpoint.request.items()}}
    if endpoint.security == "optional":
        operation["security"] = [{}, {"bearer": []}]
    elif endpoint.security == "admin":
        operation["security"] = [{"bearer": []}]
    return operation


def _has_required(spec: Any) -> bool:
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return any(f.is_required() for f in spec.model_fields.values())
    return True


def _responses(endpoint: Endpoint, refs: dict[Any, Schema]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for status in endpoint.answer_status:
        answer: dict[str, Any] = {"description": "OK" if status == 200 else TEXT_ERRORS[status]}
        if endpoint.answer is not None:
            answer["content"] = {endpoint.answer_type: {"schema": _resolve(endpoint.answer, refs)}}
        found[str(status)] = answer
    for status in endpoint.errors:
        if str(status) not in found:
            found[str(status)] = {"description": TEXT_ERRORS[status], "content": {
                JSON: {"schema": _resolve(endpoint.error_model, refs)}}}
    return found


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _path_parameter(name: str) -> dict[str, Any]:
    schema: Schema = {"type": "string", "minLength": 1, "pattern": r"^[^/]+$"}
    if name == "version":
        schema = {"type": "string", "pattern": r"^[1-9][0-9]{0,9}$", "description": "A version number"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _operation_id(method: str, path: str) -> str:
    words = [part.strip("{}") for part in path.split("/") if part]
    return "_".join([method.lower(), *words]).replace(".", "_").replace("-", "_")


def _limit_rows(components: dict[str, Schema], max_rows: int) -> None:
    """The most records one scoring request may carry (`serving.max_rows`; 413 above it)."""
    records = components.get("PredictBody", {}).get("properties", {}).get("records")
    if records is not None:
        records["maxItems"] = max_rows
