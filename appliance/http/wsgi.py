"""Requests, responses, the route table, and the one place that maps errors to HTTP answers."""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from appliance import raw_json
from appliance.access.peer import Peer
from appliance.errors import (ArtifactDeleted, Forbidden, InvalidRequest, ModelNotServed, NotFound, QueryError,
                              ReadOnlyViolation, RetryLater, StoreError, StoreFull, Unauthorized, VigilError)
from appliance.http import json_body

log = logging.getLogger("vigil.http")
STORE_FULL_RETRY_S = 30  # freeing disk space takes a person or a retention run, not a second


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    peer: Peer | None = None  # the TCP connection it came on (for who is calling)
    client_gone: Callable[[], bool] | None = None  # True once the client closed its connection

    def json(self) -> Any:
        """The body as JSON, refused (400 naming the field) when too deep or holding text the store cannot keep."""
        return json_body.parse(self.body)

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() or None if value.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(payload: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """`payload` as a JSON body; RawJSON values in it (a console result) are spliced in as they are."""
    return Response(status, raw_json.dumps(payload).encode(), headers=list(headers))


Handler = Callable[[Request], Response]


class Routes:
    """(method, path pattern) → handler; `{name}` in a pattern captures one path segment."""

    def __init__(self) -> None:
        self._table: list[tuple[str, re.Pattern[str], Handler]] = []
        self._patterns: list[tuple[str, str]] = []
        self.document: str | None = None  # the API document of these routes, made once (app.py)

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self._table.append((method, re.compile(regex), handler))
        self._patterns.append((method, pattern))

    def patterns(self) -> list[tuple[str, str]]:
        """(method, path pattern) of every route, in the order they were added (what the API document covers)."""
        return list(self._patterns)

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = []
        for route_method, regex, handler in self._table:
            found = regex.match(path)
            if found:
                if route_method == method:
                    return handler, found.groupdict()
                allowed.append(route_method)
        if allowed:
            raise MethodNotAllowed(method, path, sorted(set(allowed)))
        raise RouteNotFound(f"no endpoint {path}; see GET /openapi.json")


class MethodNotAllowed(VigilError):
    """A path that exists, asked with a method it does not take; `allowed` goes in the `Allow` header (RFC 9110)."""

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(f"{method} is not allowed on {path}; use {', '.join(allowed)}")
        self.allowed = allowed


class RouteNotFound(VigilError):
    pass


def error_response(error: BaseException) -> Response:
    """Vigil's errors become 4xx (or 503) with a JSON body naming each bad field; anything else is a 500."""
    status, headers = _status(error)
    body: dict[str, Any] = {"type": _type_name(error), "message": str(error)}
    if isinstance(error, InvalidRequest):
        body["errors"] = error.errors
    if isinstance(error, StoreFull):  # the disk, not the request: the client retries, the operator frees space
        log.warning("store write failed for lack of disk space: %s", error)
        body = {"type": "StoreFull", "message": "the store's disk is full; nothing was written, retry later"}
    elif status >= 500 and not isinstance(error, RetryLater):
        body = _internal(error)
    return json_response({"error": body}, status, headers)


def _internal(error: BaseException) -> dict[str, str]:
    """A bug's answer: an id, and nothing of the error's text (which may hold SQL, paths or data); the
    daemon's log has the error and its traceback under the same id."""
    incident = uuid.uuid4().hex[:12]
    log.error("internal error %s", incident, exc_info=error)
    return {"type": "internal", "id": incident,
            "message": f"internal error {incident}; the daemon's log has the details under this id"}


def _status(error: BaseException) -> tuple[int, list[tuple[str, str]]]:
    if isinstance(error, InvalidRequest):
        return error.status, []
    if isinstance(error, RetryLater):
        return error.status, [("Retry-After", str(max(1, math.ceil(error.retry_after))))]
    if isinstance(error, Unauthorized):
        return 401, [("WWW-Authenticate", "Bearer")]
    if isinstance(error, Forbidden):
        return 403, []
    if isinstance(error, (ModelNotServed, NotFound, RouteNotFound)):
        return 404, []
    if isinstance(error, ArtifactDeleted):
        return 410, []
    if isinstance(error, MethodNotAllowed):
        return 405, [("Allow", ", ".join(error.allowed))]
    if isinstance(error, (QueryError, ReadOnlyViolation)):
        return 400, []
    if isinstance(error, StoreFull):
        return 503, [("Retry-After", str(STORE_FULL_RETRY_S))]
    if isinstance(error, StoreError):
        return 500, []
    if isinstance(error, VigilError):
        return 400, []
    return 500, []


def _type_name(error: BaseException) -> str:
    return type(error).__name__
