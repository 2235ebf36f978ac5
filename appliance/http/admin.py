"""The admin API: every CLI operation as `POST /admin/v1/ops/{name}`, behind the daemon's token."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from appliance.errors import InvalidRequest
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving.access import check_admin_token

if TYPE_CHECKING:
    from appliance.daemon.service import Service


def operation(service: "Service", request: Request) -> Response:
    bearer = request.bearer()
    if bearer is None:
        check_admin_token(service.admin_token, bearer)  # raises: 401 naming what is needed
    admin = bearer is not None and hmac.compare_digest(service.admin_token.encode(), bearer.encode())
    args = request.json() if request.body else {}
    if not isinstance(args, dict):
        raise InvalidRequest("the body must be a JSON object of arguments", [
            {"field": "(body)", "problem": "must be an object", "kind": "invalid_body"}])
    os_user = request.headers.get("x-vigil-user") or "admin-token"
    return json_response({"result": service.run_operation(request.params["name"], args,
                                                          token=None if admin else bearer, os_user=os_user)})


def status(service: "Service", request: Request) -> Response:
    check_admin_token(service.admin_token, request.bearer())
    return json_response(service.status())
