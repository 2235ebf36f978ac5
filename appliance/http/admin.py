"""The admin API: every CLI operation as `POST /admin/v1/ops/{name}`, behind the daemon's token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.errors import InvalidRequest
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving.access import check_admin_token

if TYPE_CHECKING:
    from appliance.daemon.service import Service


def operation(service: "Service", request: Request) -> Response:
    check_admin_token(service.admin_token, request.bearer())
    args = request.json() if request.body else {}
    if not isinstance(args, dict):
        raise InvalidRequest("the body must be a JSON object of arguments", [
            {"field": "(body)", "problem": "must be an object", "kind": "invalid_body"}])
    return json_response({"result": service.run_operation(request.params["name"], args)})


def status(service: "Service", request: Request) -> Response:
    check_admin_token(service.admin_token, request.bearer())
    return json_response(service.status())
