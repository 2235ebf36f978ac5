"""Vigil's native scoring API (which also accepts MLflow's bodies) and the feedback API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest
from appliance.http import bodies, mlflow_protocol
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving import request_ids
from appliance.serving.request_frame import columns_from_records
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
        records, request_id, routing_key = _native_body(body, request)
        scored = service.scorer.score(name, lambda features: columns_from_records(records, features),
                                      api="native", request_id=request_id, routing_key=routing_key)
    except InvalidRequest as e:
        service.scorer.reject(name, "native", None, e, request.body)
        raise
    return json_response(native_payload(scored), headers=[("X-Model-Version", str(scored.version)),
                                                         ("X-Request-Id", scored.request_id)])


def _native_body(body: Any, request: Request) -> tuple[Any, str | None, str | None]:
    """The records, request id and routing key of a native body (validated with `bodies.PredictBody`); the
    id and key may come as the `X-Request-Id` and `X-Routing-Key` headers instead."""
    parsed = bodies.parse(bodies.PredictBody, body, hint="; send 'records' (or an MLflow body)")
    request_id = parsed.request_id if parsed.request_id is not None \
        else request_ids.checked(request.headers.get("x-request-id"), "X-Request-Id")
    routing_key = parsed.routing_key if parsed.routing_key is not None else _header_key(request)
    return parsed.records, request_id, routing_key


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


def feedback(service: "HttpHost", request: Request) -> Response:
    service.access.check(request.bearer())
    parsed = bodies.feedback(request.json())
    labels = parsed.labels if isinstance(parsed, bodies.Labels) else [parsed]
    items = [label.model_dump() for label in labels]
    results = service.feedback.record(request.params["name"], items, listed=isinstance(parsed, bodies.Labels))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return json_response({"results": results, "counts": counts})


def feature_names(features: list[Feature]) -> list[str]:
    return [f.name for f in features]
