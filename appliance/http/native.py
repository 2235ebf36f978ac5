"""Vigil's native scoring API (which also accepts MLflow's bodies) and the feedback API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest
from appliance.http import mlflow_protocol
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving import request_ids
from appliance.serving.feedback import parse_body
from appliance.serving.request_frame import columns_from_records
from appliance.serving.scoring import Scored

if TYPE_CHECKING:
    from appliance.daemon.service import Service

NATIVE_FIELDS = {"records", "request_id", "routing_key"}
MAX_ID = 128


def predict(service: "Service", request: Request) -> Response:
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
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be an object like {\"records\": [...]}", [
            {"field": "(body)", "problem": "must be an object", "kind": "invalid_body"}])
    extra = sorted(set(body) - NATIVE_FIELDS)
    if extra:
        raise InvalidRequest(f"unexpected fields {extra}; send 'records' (or an MLflow body)", [
            {"field": f, "problem": "unexpected field", "kind": "invalid_body"} for f in extra])
    request_id = request_ids.checked(body["request_id"], "request_id") if "request_id" in body \
        else request_ids.checked(request.headers.get("x-request-id"), "X-Request-Id")
    routing_key = body.get("routing_key", request.headers.get("x-routing-key"))
    for field_name, value in (("routing_key", routing_key),):
        if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_ID):
            raise InvalidRequest(f"'{field_name}' must be a string of 1 to {MAX_ID} characters", [
                {"field": field_name, "problem": f"must be a string of 1 to {MAX_ID} characters",
                 "kind": "invalid_body"}])
    if "records" not in body:
        raise InvalidRequest("'records' is required", [
            {"field": "records", "problem": "required", "kind": "invalid_body"}])
    return body["records"], request_id, routing_key


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
    return payload



def feedback(service: "Service", request: Request) -> Response:
    service.access.check(request.bearer())
    body = request.json()
    items = parse_body(body)
    listed = isinstance(body, dict) and "labels" in body
    results = service.feedback.record(request.params["name"], items, listed=listed)
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return json_response({"results": results, "counts": counts})


def feature_names(features: list[Feature]) -> list[str]:
    return [f.name for f in features]
