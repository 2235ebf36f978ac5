"""MLflow's scoring-server protocol: `/invocations`, `/ping`, `/health`, `/version`, and MLflow bodies on
`/v1/models/{name}/predict`.

Accepts what `mlflow models serve` accepts: JSON with `dataframe_records`, `dataframe_split`,
`instances` or `inputs` (and `params`), CSV and Parquet (appliance/http/mlflow_bodies.py); answers
`{"predictions": [...]}` and reports errors as MLflow does (`{"error_code": "BAD_REQUEST", "message": ...}`,
plus `errors` naming each bad field).

What a prediction is, is the model's `serving.mlflow_output`. `predict` answers as MLflow's pyfunc
`predict` does: the estimator's own class (a binary model's positive class when its probability is
above 0.5, not at the version's threshold; a multiclass model's class name) or the regression value.
`predict_proba` answers one list per row with every class's probability, in the order of the model's
classes (a binary model's: `[1 - p, p]`). `decision` answers the class at the version's threshold, as
the native API does. `auto` (the default) answers what `mlflow models serve` of the version answers:
the pyfunc `predict_fn` an MLflow model was saved with (`mlflow.sklearn.save_model(...,
pyfunc_predict_fn=...)`), else `predict`. A request may ask with `"params": {"predict_fn": ...}`.
`"params": {"event_time": ...}` is the event time of every row (ISO-8601 text or epoch seconds,
`core.request_event_time`); a frame may instead carry each row's in the column the model's
`serving.event_time_column` names (JSON, CSV or Parquet), which is no feature. Other params, and
params that are not an object, are ignored, as MLflow's server ignores params a model does not take.
The prediction log records the classes answered.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from appliance import __version__
from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest, VigilError
from appliance.http import mlflow_bodies
from appliance.http.wsgi import Request, Response, error_response, json_response
from appliance.serving import request_ids, request_times
from appliance.serving.request_frame import check_names, columns_from_records, columns_from_split
from appliance.serving.request_times import RequestTimes
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.http.host import HttpHost

FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
PREDICT_FNS = ("predict", "predict_proba")
Columns = Callable[[list[Feature]], dict[str, Any]]
Reader = Callable[[str], Columns]  # the event-time column's name -> the body's columns reader


def is_mlflow(body: dict[str, Any]) -> bool:
    return any(key in body for key in FORMATS)


def ping(service: "HttpHost", request: Request) -> Response:
    """`/ping` and `/health`: MLflow's health check answers 200 with a newline once the server is up."""
    return Response(200, b"\n", "application/json")


def version(service: "HttpHost", request: Request) -> Response:
    """`/version`: MLflow answers its version as bare text (with a JSON content type); Vigil answers its own."""
    return Response(200, __version__.encode(), "application/json")


def invocations(service: "HttpHost", request: Request) -> Response:
    try:
        service.access.check(request.bearer())
        media = mlflow_bodies.media_type(request.headers.get("content-type"))
        name = service.default_model()
    except VigilError as e:
        return _mlflow_error(e)
    return _by_media(service, request, name, media)


def predict(service: "HttpHost", request: Request) -> Response:
    """`/v1/models/{name}/predict`: CSV and Parquet bodies answered as `/invocations` answers them, for the
    model named; anything else is the native API's (which also takes MLflow's JSON bodies)."""
    from appliance.http import native

    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in (mlflow_bodies.CSV, mlflow_bodies.PARQUET):
        return native.predict(service, request)
    try:
        service.access.check(request.bearer())
        media = mlflow_bodies.media_type(request.headers.get("content-type"))
    except VigilError as e:
        return _mlflow_error(e)
    return _by_media(service, request, request.params["name"], media)


def _by_media(service: "HttpHost", request: Request, name: str, media: str) -> Response:
    if media == mlflow_bodies.JSON:
        try:
            body = request.json()
            if not isinstance(body, dict) or not is_mlflow(body):
                raise InvalidRequest(f"the body needs one of {', '.join(FORMATS)}", [
                    {"field": "(body)", "problem": f"needs one of {', '.join(FORMATS)}", "kind": "invalid_body"}])
        except InvalidRequest as e:
            service.scorer.reject(name, "mlflow", None, e, request.body)
            return _mlflow_error(e)
        return answer(service, request, name, body)
    read = mlflow_bodies.csv_columns if media == mlflow_bodies.CSV else mlflow_bodies.parquet_columns
    where = "csv" if media == mlflow_bodies.CSV else "parquet"
    max_rows = service.scorer.max_rows

    def reader(event: str) -> Columns:  # `event`: the model's event-time column
        return lambda f: check_names(read(request.body, f, max_rows, event), f, where, event)

    return _scored(service, request, name, reader, where, None)  # MLflow passes no params with these


def answer(service: "HttpHost", request: Request, name: str, body: dict[str, Any]) -> Response:
    """A JSON body in one of MLflow's formats, for model `name`."""
    try:
        columns, where = _columns(body)
    except InvalidRequest as e:
        service.scorer.reject(name, "mlflow", None, e, request.body)
        return _mlflow_error(e)
    return _scored(service, request, name, columns, where, body.get("params"))


def _scored(service: "HttpHost", request: Request, name: str, reader: Reader, where: str,
            params: Any) -> Response:
    try:
        requested = _predict_fn(params)
        if requested == "predict_proba":
            _require_probabilities(service, name)
        request_id = request_ids.checked(request.headers.get("x-request-id"), "X-Request-Id")
        policy = service.config.serving.policy_for(name)
        output = requested or policy.mlflow_output
        scored = service.scorer.score(name, reader(policy.event_time_column), api="mlflow", where=where,
                                      request_id=request_id, routing_key=request.headers.get("x-routing-key"),
                                      output=output, event_time=_event_time(params))
    except InvalidRequest as e:
        service.scorer.reject(name, "mlflow", None, e, request.body)
        return _mlflow_error(e)
    except VigilError as e:
        return _mlflow_error(e)
    predictions = _probabilities(scored) if scored.output == "predict_proba" else scored.labels()
    headers = [("X-Model-Version", str(scored.version)), ("X-Request-Id", scored.request_id)]
    if scored.ignored_columns:
        headers.append(("X-Ignored-Columns", json.dumps(list(scored.ignored_columns))))
    return json_response({"predictions": predictions}, headers=headers)


def _predict_fn(params: Any) -> str | None:
    """The pyfunc function a request asks for with `params.predict_fn`, else None (the model's
    `serving.mlflow_output`). Other params, and params that are not an object, are ignored, as MLflow's
    server ignores params a model without a params schema does not take."""
    if not isinstance(params, dict) or "predict_fn" not in params:
        return None
    chosen = params["predict_fn"]
    if chosen not in PREDICT_FNS:
        raise InvalidRequest(f"params.predict_fn {chosen!r} is not one of {', '.join(PREDICT_FNS)}", [
            {"field": "params.predict_fn", "problem": f"must be one of {', '.join(PREDICT_FNS)}",
             "kind": "invalid_body"}])
    return str(chosen)


def _event_time(params: Any) -> RequestTimes | None:
    """`params.event_time`: the event time of every row (None when params are not an object, or lack it)."""
    if not isinstance(params, dict):
        return None
    return request_times.given("params.event_time", params.get("event_time"))


def _require_probabilities(service: "HttpHost", name: str) -> None:
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


def _columns(body: dict[str, Any]) -> tuple[Reader, str]:
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

    def reader(event: str) -> Columns:  # `event`: the model's event-time column
        if key == "dataframe_split":
            return lambda f: columns_from_split(value.get("columns"), value.get("data"), f, key, event)
        if isinstance(value, dict):  # {"column": [values, ...]}
            return lambda f: check_names(_lists(value, key), f, key, event)
        return lambda f: columns_from_records(value, f, key, event)

    return reader, key


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
