"""MLflow's scoring-server protocol: `/invocations` and MLflow bodies on `/v1/models/{name}/predict`.

Accepts `dataframe_records`, `dataframe_split`, `instances` and `inputs`, answers
`{"predictions": [...]}` like `mlflow models serve`, and reports errors as MLflow does
(`{"error_code": "BAD_REQUEST", "message": ...}`).

What a prediction is follows MLflow's pyfunc `predict_fn` (the MLmodel's `python_function.predict_fn`,
set by `mlflow.sklearn.save_model(..., pyfunc_predict_fn=...)`): `predict` (the default) answers the
classifier's labels (class names for a multiclass model, 1/0 for a binary one) or the regression values;
`predict_proba` answers one list per row with every class's probability, in the order of the model's
classes (a binary model's: `[1 - p, p]`, class 0 then class 1). MLflow fixes the function when the
model is saved: a version imported from such a model answers with that function by default, every
other version with `predict`; a client may ask per request with `"params": {"predict_fn": ...}`.
Other params are ignored, as MLflow's server ignores params a model does not take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest, VigilError
from appliance.http.wsgi import Request, Response, error_response, json_response
from appliance.serving import request_ids
from appliance.serving.request_frame import check_names, columns_from_records, columns_from_split
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.daemon.service import Service

FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
PREDICT_FNS = ("predict", "predict_proba")


def is_mlflow(body: dict[str, Any]) -> bool:
    return any(key in body for key in FORMATS)


def invocations(service: "Service", request: Request) -> Response:
    try:
        service.access.check(request.bearer())
        if not request.headers.get("content-type", "application/json").startswith("application/json"):
            raise InvalidRequest("only application/json bodies are accepted", [
                {"field": "Content-Type", "problem": "use application/json", "kind": "unsupported_media_type"}],
                status=415, reason="unsupported_media_type")
        body = request.json()
        if not isinstance(body, dict) or not is_mlflow(body):
            raise InvalidRequest(f"the body needs one of {', '.join(FORMATS)}", [
                {"field": "(body)", "problem": f"needs one of {', '.join(FORMATS)}", "kind": "invalid_body"}])
        return answer(service, request, service.default_model(), body)
    except VigilError as e:
        return _mlflow_error(e)


def answer(service: "Service", request: Request, name: str, body: dict[str, Any]) -> Response:
    try:
        columns, where = _columns(body)
        requested = _predict_fn(body.get("params"))
        if requested == "predict_proba":
            _require_probabilities(service, name)
        request_id = request_ids.checked(request.headers.get("x-request-id"), "X-Request-Id")
        scored = service.scorer.score(name, columns, api="mlflow", where=where, request_id=request_id,
                                      routing_key=request.headers.get("x-routing-key"))
    except InvalidRequest as e:
        service.scorer.reject(name, "mlflow", None, e, request.body)
        return _mlflow_error(e)
    except VigilError as e:
        return _mlflow_error(e)
    predict_fn = requested or scored.predict_fn
    predictions = _probabilities(scored) if predict_fn == "predict_proba" else scored.labels()
    return json_response({"predictions": predictions}, headers=[("X-Model-Version", str(scored.version)),
                                                                ("X-Request-Id", scored.request_id)])


def _predict_fn(params: Any) -> str | None:
    """The pyfunc function a request asks for with `params.predict_fn`, else None (the version's own:
    `predict`, or what MLflow saved the model with). Other params are ignored, as MLflow's server
    ignores params a model does not take."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise InvalidRequest("'params' must be an object", [
            {"field": "params", "problem": "must be an object", "kind": "invalid_body"}])
    if "predict_fn" not in params:
        return None
    chosen = params["predict_fn"]
    if chosen not in PREDICT_FNS:
        raise InvalidRequest(f"params.predict_fn {chosen!r} is not one of {', '.join(PREDICT_FNS)}", [
            {"field": "params.predict_fn", "problem": f"must be one of {', '.join(PREDICT_FNS)}",
             "kind": "invalid_body"}])
    return str(chosen)


def _require_probabilities(service: "Service", name: str) -> None:
    """`predict_proba` is for classifiers; every version of a model has its task, so the champion's tells."""
    task = service.router.routes(name).champion.loaded.task
    if task == "regression":
        raise InvalidRequest(f"model '{name}' is a regression model, which has no class probabilities; "
                             "use params.predict_fn 'predict'", [
                                 {"field": "params.predict_fn", "problem": "a regression model has no predict_proba",
                                  "kind": "invalid_body"}])



def _probabilities(scored: Scored) -> list[list[float]]:
    scores = np.asarray(scored.scores, dtype=np.float64)
    if scored.task == "binary":
        scores = np.column_stack([1.0 - scores, scores])
    return scores.tolist()


def _columns(body: dict[str, Any]) -> tuple[Callable[[list[Feature]], dict[str, Any]], str]:
    present = [k for k in FORMATS if k in body]
    extra = sorted(set(body) - set(FORMATS) - {"params"})
    if len(present) != 1 or extra:
        raise InvalidRequest(f"send exactly one of {', '.join(FORMATS)} (got {present + extra})", [
            {"field": k, "problem": "unexpected field", "kind": "invalid_body"} for k in present[1:] + extra])
    key = present[0]
    value = body[key]
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise InvalidRequest("'dataframe_split' must be an object with 'columns' and 'data'", [
                {"field": key, "problem": "must be an object", "kind": "invalid_body"}])
        return (lambda f: columns_from_split(value.get("columns"), value.get("data"), f, key)), key
    if isinstance(value, dict):  # {"column": [values, ...]}
        return (lambda f: check_names(_lists(value, key), f, key)), key
    return (lambda f: columns_from_records(value, f, key)), key


def _lists(value: dict[str, Any], key: str) -> dict[str, list[Any]]:
    bad = [name for name, column in value.items() if not isinstance(column, list)]
    if bad:
        raise InvalidRequest(f"'{key}' columns must be lists: {bad}", [
            {"field": f"{key}.{b}", "problem": "must be a list", "kind": "invalid_body"} for b in bad])
    return value


def _mlflow_error(error: VigilError) -> Response:
    generic = error_response(error)
    code = "BAD_REQUEST" if generic.status < 500 else "INTERNAL_ERROR"
    if generic.status == 404:
        code = "RESOURCE_DOES_NOT_EXIST"
    payload: dict[str, Any] = {"error_code": code, "message": str(error)}
    if isinstance(error, InvalidRequest):
        payload["errors"] = error.errors
    return json_response(payload, generic.status, generic.headers)
