"""The daemon's WSGI application: limits, load shedding, draining, routing, error mapping."""

from __future__ import annotations

import re
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Iterable

from appliance import raw_json
from appliance.access import peer
from appliance.errors import InvalidRequest, RetryLater, VigilError
from appliance.http import admin, feedback_api, mlflow_protocol, oip_v2
from appliance.http.openapi import document
from appliance.http.wsgi import Request, Response, Routes, error_response, json_response
from appliance.serving.unanswered import TALLY

if TYPE_CHECKING:
    from appliance.http.host import HttpHost

StartResponse = Callable[..., Any]
_FEEDBACK = re.compile(r"^/v1/models/[^/]+/feedback$")  # its own body limit: serving.max_feedback_body_bytes
_SCORING = re.compile(r"^/v1/models/(?P<name>[^/]+)/predict$|^/v2/models/(?P<oip>[^/]+)(/versions/[^/]+)?/infer$")


def build_routes(service: "HttpHost") -> Routes:
    routes = Routes()

    def bind(handler: Callable[["HttpHost", Request], Response]) -> Callable[[Request], Response]:
        return lambda request: handler(service, request)

    routes.add("GET", "/healthz", lambda r: json_response({"alive": True}))
    routes.add("GET", "/readyz", lambda r: _readyz(service))
    routes.add("GET", "/metrics", lambda r: Response(200, service.metrics.render().encode(),
                                                    "text/plain; version=0.0.4; charset=utf-8"))
    routes.add("GET", "/openapi.json", lambda r: _openapi(service, routes))
    routes.add("POST", "/v1/models/{name}/predict", bind(mlflow_protocol.predict))  # CSV/Parquet, else native
    routes.add("POST", "/v1/models/{name}/feedback", bind(feedback_api.feedback))
    routes.add("POST", "/invocations", bind(mlflow_protocol.invocations))
    routes.add("GET", "/ping", bind(mlflow_protocol.ping))
    routes.add("GET", "/health", bind(mlflow_protocol.ping))
    routes.add("GET", "/version", bind(mlflow_protocol.version))
    routes.add("GET", "/v2", bind(oip_v2.server_metadata))
    routes.add("GET", "/v2/health/live", bind(oip_v2.live))
    routes.add("GET", "/v2/health/ready", bind(oip_v2.ready))
    routes.add("GET", "/v2/models/{name}", bind(oip_v2.model_metadata))
    routes.add("GET", "/v2/models/{name}/ready", bind(oip_v2.model_ready))
    routes.add("POST", "/v2/models/{name}/infer", bind(oip_v2.infer))
    routes.add("GET", "/v2/models/{name}/versions/{version}", bind(oip_v2.model_metadata))
    routes.add("GET", "/v2/models/{name}/versions/{version}/ready", bind(oip_v2.model_ready))
    routes.add("POST", "/v2/models/{name}/versions/{version}/infer", bind(oip_v2.infer))
    routes.add("POST", "/admin/v1/ops/{name}", bind(admin.operation))
    routes.add("GET", "/admin/v1/status", bind(admin.status))
    return routes


def _openapi(service: "HttpHost", routes: Routes) -> Response:
    """The API document of every route in the table (made on first use: every route is added by then)."""
    if routes.document is None:
        routes.document = raw_json.dumps(document(routes.patterns(), max_rows=service.config.serving.max_rows))
    return Response(200, routes.document.encode())


def _readyz(service: "HttpHost") -> Response:
    ready, detail = service.readiness()
    return json_response({"ready": ready, **detail}, 200 if ready else 503)


class App:
    """WSGI callable. Sheds load when waitress's queue is long, refuses work while draining."""

    def __init__(self, service: "HttpHost", *, max_body_bytes: int, max_queue: int,
                 queue_depth: Callable[[], int] = lambda: 0, max_feedback_body_bytes: int | None = None) -> None:
        self.service = service
        self.routes = build_routes(service)
        self.max_body_bytes = max_body_bytes
        self.max_feedback_body_bytes = max_feedback_body_bytes or max_body_bytes  # labels come by the 100,000
        self.max_queue = max_queue
        self.queue_depth = queue_depth
        self.draining = False
        self._in_flight = 0
        self._idle = threading.Condition()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with self._idle:
            self._in_flight += 1
        try:
            response = self._handle(environ)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   *response.headers]  # no `Connection` header: hop-by-hop, waitress refuses it (PEP 3333)
        start_response(status_line(response.status), headers)
        return [response.body]

    def _handle(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO", "") or "/"
        try:
            if self.draining and path not in ("/healthz",):
                self._unanswered(environ, path)
                raise RetryLater("the daemon is shutting down; retry shortly", 503, 2.0)
            if self.queue_depth() > self.max_queue and not path.startswith(("/admin", "/healthz", "/readyz")):
                self.service.metrics.shed()
                self._unanswered(environ, path)
                raise RetryLater("the scoring queue is full; retry shortly", 503, 1.0)
            request = Request(environ["REQUEST_METHOD"], path, _headers(environ), self._body(environ, path),
                              peer=peer.from_environ(environ),
                              client_gone=environ.get("waitress.client_disconnected"))
            handler, params = self.routes.match(request.method, path)
            request.params = params
            return handler(request)
        except Exception as e:  # a VigilError is the client's (4xx) or a 503; anything else is a bug: 500, logged
            return oip_v2.protocol_error(e) if oip_v2.is_protocol_path(path) else error_response(e)

    def _unanswered(self, environ: dict[str, Any], path: str) -> None:
        """Count a scoring request refused before it was read against its model's availability objective,
        when it names a served model (a made-up name counts for nobody)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return
        named = _SCORING.match(path)
        try:
            name = named.group("name") or named.group("oip") if named else (
                self.service.default_model() if path == "/invocations" else None)
        except VigilError:
            return
        if name and name in self.service.router.models:
            TALLY.count(name)

    def _body(self, environ: dict[str, Any], path: str) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self.max_feedback_body_bytes if _FEEDBACK.match(path) else self.max_body_bytes
        if length > limit:
            raise InvalidRequest(f"the body is {length} bytes; the limit is {limit}", [
                {"field": "(body)", "problem": f"larger than {limit} bytes", "kind": "body_too_large"}],
                status=413, reason="body_too_large")
        return environ["wsgi.input"].read(length) if length else b""


def status_line(status: int) -> str:
    """`404 Not Found`: the code with its reason phrase (RFC 9110's, as http.HTTPStatus names them)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    found = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        found["content-type"] = environ["CONTENT_TYPE"]
    return found
