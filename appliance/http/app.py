"""The daemon's WSGI application: limits, load shedding, draining, routing, error mapping."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from appliance.access import peer
from appliance.errors import InvalidRequest, RetryLater, VigilError
from appliance.http import admin, mlflow_protocol, native, oip_v2
from appliance.http.openapi import document
from appliance.http.wsgi import Request, Response, Routes, error_response, json_response

if TYPE_CHECKING:
    from appliance.daemon.service import Service

StartResponse = Callable[..., Any]
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


def build_routes(service: "Service") -> Routes:
    routes = Routes()

    def bind(handler: Callable[["Service", Request], Response]) -> Callable[[Request], Response]:
        return lambda request: handler(service, request)

    routes.add("GET", "/healthz", lambda r: json_response({"alive": True}))
    routes.add("GET", "/readyz", lambda r: _readyz(service))
    routes.add("GET", "/metrics", lambda r: Response(200, service.metrics.render().encode(),
                                                    "text/plain; version=0.0.4; charset=utf-8"))
    routes.add("GET", "/openapi.json", lambda r: json_response(document()))
    routes.add("POST", "/v1/models/{name}/predict", bind(native.predict))
    routes.add("POST", "/v1/models/{name}/feedback", bind(native.feedback))
    routes.add("POST", "/invocations", bind(mlflow_protocol.invocations))
    routes.add("GET", "/ping", lambda r: Response(200, b"\n", "application/json"))
    routes.add("GET", "/v2", bind(oip_v2.server_metadata))
    routes.add("GET", "/v2/health/live", bind(oip_v2.live))
    routes.add("GET", "/v2/health/ready", bind(oip_v2.ready))
    routes.add("GET", "/v2/models/{name}", bind(oip_v2.model_metadata))
    routes.add("GET", "/v2/models/{name}/ready", bind(oip_v2.model_ready))
    routes.add("POST", "/v2/models/{name}/infer", bind(oip_v2.infer))
    routes.add("POST", "/admin/v1/ops/{name}", bind(admin.operation))
    routes.add("GET", "/admin/v1/status", bind(admin.status))
    return routes


def _readyz(service: "Service") -> Response:
    ready, detail = service.readiness()
    return json_response({"ready": ready, **detail}, 200 if ready else 503)


class App:
    """WSGI callable. Sheds load when waitress's queue is long, refuses work while draining."""

    def __init__(self, service: "Service", *, max_body_bytes: int, max_queue: int,
                 queue_depth: Callable[[], int] = lambda: 0) -> None:
        self.service = service
        self.routes = build_routes(service)
        self.max_body_bytes = max_body_bytes
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
        start_response(f"{response.status} {REASONS.get(response.status, '')}".strip(), headers)
        return [response.body]

    def _handle(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO", "") or "/"
        try:
            if self.draining and path not in ("/healthz",):
                raise RetryLater("the daemon is shutting down; retry shortly", 503, 2.0)
            if self.queue_depth() > self.max_queue and not path.startswith(("/admin", "/healthz", "/readyz")):
                self.service.metrics.shed()
                raise RetryLater("the scoring queue is full; retry shortly", 503, 1.0)
            request = Request(environ["REQUEST_METHOD"], path, _headers(environ), self._body(environ),
                              peer=peer.from_environ(environ),
                              client_gone=environ.get("waitress.client_disconnected"))
            handler, params = self.routes.match(request.method, path)
            request.params = params
            return handler(request)
        except VigilError as e:
            return error_response(e)
        except Exception as e:  # a bug: answered as 500 and logged
            return error_response(e)

    def _body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body_bytes:
            raise InvalidRequest(f"the body is {length} bytes; the limit is {self.max_body_bytes}", [
                {"field": "(body)", "problem": f"larger than {self.max_body_bytes} bytes", "kind": "body_too_large"}],
                status=413, reason="body_too_large")
        return environ["wsgi.input"].read(length) if length else b""


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    found = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        found["content-type"] = environ["CONTENT_TYPE"]
    return found
