"""`GET /openapi.json`: the native API described as OpenAPI 3.1."""

from __future__ import annotations

from typing import Any

from appliance import __version__

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "type": {"type": "string"}, "message": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "problem": {"type": "string"}, "kind": {"type": "string"}}}}}}}}
_RECORD = {"type": "object", "additionalProperties": {"type": ["number", "string", "integer", "boolean", "null"]},
           "description": "One value per feature of the model; no other keys."}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Invalid request: each bad field is named", 401: "Missing or wrong API key",
            404: "Unknown model, or it has no champion", 413: "Body or row count over the limit",
            429: "Over the API key's rate limit (see Retry-After)", 503: "Overloaded or shutting down (see Retry-After)"}
    return {str(c): _json(_ERROR, text[c]) for c in codes}


def document() -> dict[str, Any]:
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    predict_body = {"type": "object", "required": ["records"], "additionalProperties": False, "properties": {
        "records": {"type": "array", "items": _RECORD, "minItems": 1},
        "request_id": {"type": "string", "maxLength": 128, "description": "Your own id (default: generated)"},
        "routing_key": {"type": "string", "maxLength": 128, "description": "Sticky canary routing key"}}}
    predict_answer = {"type": "object", "properties": {
        "model": {"type": "string"}, "version": {"type": "integer"}, "route": {"enum": ["champion", "canary"]},
        "request_id": {"type": "string"}, "predictions": {"type": "array"},
        "probabilities": {"type": "array", "items": {"oneOf": [
            {"type": "number"}, {"type": "array", "items": {"type": "number"}}]},
            "description": "binary: the positive class's probability per record; multiclass: per record, "
                           "every class's probability in the order of 'classes'"},
        "positive_class": {"type": "string"},
        "classes": {"type": "array", "items": {"type": "string"}, "description": "multiclass: the class names"},
        "flags": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}}}
    label = {"type": "object", "required": ["request_id", "label"], "additionalProperties": False, "properties": {
        "request_id": {"type": "string"}, "row_index": {"type": "integer", "minimum": 0, "default": 0},
        "label": {"type": ["boolean", "string", "integer", "number"],
                  "description": "binary: the class (or true/false); regression: a number; multiclass: a class "
                                 "name of the answering version (another is a 400 naming it)"}}}
    feedback_body = {"oneOf": [label, {"type": "object", "required": ["labels"],
                                       "properties": {"labels": {"type": "array", "items": label}}}]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigil scoring API", "version": __version__},
        "paths": {
            "/v1/models/{name}/predict": {"post": {
                "summary": "Score records with the model's champion (or canary); also accepts MLflow bodies",
                "parameters": [name], "requestBody": {"required": True, **_json(predict_body, "Records to score")},
                "responses": {"200": _json(predict_answer, "Predictions, logged durably before this answer"),
                              **_errors(400, 401, 404, 413, 429, 503)}}},
            "/v1/models/{name}/feedback": {"post": {
                "summary": "Record ground-truth labels by request_id (idempotent)",
                "parameters": [name], "requestBody": {"required": True, **_json(feedback_body, "One or many labels")},
                "responses": {"200": _json({"type": "object"}, "One result per label"), **_errors(400, 401, 404)}}},
            "/invocations": {"post": {"summary": "MLflow scoring-server protocol for the default model; "
                                                 "params.predict_fn 'predict' (labels) or 'predict_proba'",
                                      "responses": {"200": _json({"type": "object"}, "{\"predictions\": [...]}")}}},
            "/healthz": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Store open and every champion loaded",
                                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
        },
    }
