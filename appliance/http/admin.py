"""The admin API: every CLI operation as `POST /admin/v1/ops/{name}`, behind the daemon's token.

A caller with a user token is that user. A caller with the daemon's admin token is the OS account
that owns the client's end of the connection (`access/peer.py`), or `admin-token` when the kernel
does not show it; what the request says about its sender (headers, `actor` arguments) is ignored.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from appliance.core.identity import account_name
from appliance.access.peer import owner_uid
from appliance.errors import InvalidRequest
from appliance.http.wsgi import Request, Response, RouteNotFound, json_response
from appliance.operations import OPERATIONS
from appliance.serving.access import check_admin_token

if TYPE_CHECKING:
    from appliance.http.host import HttpHost


def operation(service: "HttpHost", request: Request) -> Response:
    bearer = request.bearer()
    if bearer is None:
        check_admin_token(service.admin_token, bearer)  # raises: 401 naming what is needed
    name = request.params["name"]
    if name not in OPERATIONS:
        raise RouteNotFound(f"no operation '{name}'; see GET /openapi.json for /admin/v1/ops/*")
    admin = bearer is not None and hmac.compare_digest(service.admin_token.encode(), bearer.encode())
    args = request.json() if request.body else {}
    if not isinstance(args, dict):
        raise InvalidRequest("the body must be a JSON object of arguments", [
            {"field": "(body)", "problem": "must be an object", "kind": "invalid_body"}])
    if not admin:
        return json_response({"result": service.run_operation(name, args, token=bearer,
                                                              client_gone=request.client_gone)})
    return json_response({"result": service.run_operation(name, args, os_user=caller_account(request),
                                                          client_gone=request.client_gone)})


def caller_account(request: Request) -> str | None:
    """The OS account of an admin-token caller, from the kernel's socket tables — never from what the
    request says. None when the connection's owner is unknown (the caller is then `admin-token`)."""
    uid = owner_uid(request.peer) if request.peer is not None else None
    return account_name(uid) if uid is not None else None


def status(service: "HttpHost", request: Request) -> Response:
    check_admin_token(service.admin_token, request.bearer())
    return json_response(service.status())
