"""Vigil's native scoring API (which also accepts MLflow's bodies); labels come on `feedback_api`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest
from appliance.http import bodies, mlflow_protocol
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving import request_ids
from appliance.serving.request_frame import columns_from_records
from appliance.serving.request_times import RequestTimes
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.http.host import HttpHost



def predict(service: "HttpHost", request: Request) -> Response:
    name = request.params["name"]
    service.access.check(request.bearer())
    body = request.json()
    if isinstance(body, dict) and mlflow_protocol.is_mlflow(body):
        return mlflow_protocol.answer(service, request, name, body)
    try:
        parsed, request_id, routing_key = _native_body(body, request)
        records, column = parsed.records, service.config.serving.policy_for(name).event_time_column
        scored = service.scorer.score(name, lambda features: columns_from_records(records, features, "records", column),
                                      api="native", request_id=request_id, routing_key=routing_key,
                                      event_time=_request_times(parsed))
    except InvalidRequest as e:
        service.scorer.reject(name, "native", None, e, request.body)
        raise
    return json_response(native_payload(scored), headers=[("X-Model-Version", str(scored.version)),
                                                         ("X-Request-Id", scored.request_id)])


def _native_body(body: Any, request: Request) -> tuple[bodies.PredictBody, str | None, str | None]:
    """A native body (validated with `bodies.PredictBody`), its request id and routing key; the id and key may
    come as the `X-Request-Id` and `X-Routing-Key` headers instead."""
    parsed = bodies.parse(bodies.PredictBody, body, hint="; send 'records' (or an MLflow body)")
    request_id = parsed.request_id if parsed.request_id is not None \
        else request_ids.checked(request.headers.get("x-request-id"), "X-Request-Id")
    routing_key = parsed.routing_key if parsed.routing_key is not None else _header_key(request)
    return parsed, request_id, routing_key


def _request_times(parsed: bodies.PredictBody) -> RequestTimes | None:
    """The body's `event_time` (every record) or `event_times` (one per record), read by the body's model."""
    if parsed.event_times is not None:
        return RequestTimes("event_times", per_row=tuple(parsed.event_times))
    if parsed.event_time is not None:
        return RequestTimes("event_time", every_row=parsed.event_time)
    return None


def _header_key(request: Request) -> str | None:
    value = request.headers.get("x-routing-key")
    if value is not None and not 1 <= len(value) <= bodies.MAX_KEY:
        raise InvalidRequest(f"'X-Routing-Key' must be a string of 1 to {bodies.MAX_KEY} characters", [
            {"field": "X-Routing-Key", "problem": f"must be a string of 1 to {bodies.MAX_KEY} characters",
             "kind": "invalid_body"}])
    return value


def native_payload(scored: Scored) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": scored.model_name, "version": scored.version, "route": scored.route,
        "request_id": scored.request_id, "predictions": scored.labels(),
    }
    if scored.task == "multiclass" and scored.scores is not None:
        payload["classes"] = list(scored.classes)
        payload["probabilities"] = [[round(float(p), 12) for p in row] for row in scored.scores]
    elif scored.scores is not None:
        payload["probabilities"] = [round(float(s), 12) for s in scored.scores]
        payload["positive_class"] = scored.positive_class
    if any(scored.flags):
        payload["flags"] = scored.flags
    if scored.audit_sample:
        payload["audit_sample"] = True  # label this one whatever was decided (docs/monitoring.md)
    if scored.ignored_columns:
        payload["ignored_columns"] = list(scored.ignored_columns)  # sent, not taken: serving.extra_columns
    return payload


def feature_names(features: list[Feature]) -> list[str]:
    return [f.name for f in features]
