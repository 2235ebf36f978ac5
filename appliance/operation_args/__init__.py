"""Every operation's arguments as a pydantic model, and the one check they pass before it runs.

A client's mistake (a wrong type, a missing or unknown key, a value out of range) becomes
`InvalidRequest` naming each bad field: 400 from the admin API, one line and exit 2 from the CLI.
The caller's identity (`actor`, `caller_role`, `caller_identity`) is never an argument: the server
sets it from the authenticated caller, and whatever a client sends under those keys is dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from appliance.errors import InvalidRequest
from appliance.field_errors import field_errors

SERVER_KEYS = ("actor", "caller_role", "caller_identity")


def validate(operation: str, model: type[BaseModel], args: dict[str, Any]) -> dict[str, Any]:
    """The arguments a client sent, checked against the operation's model, as a plain dict with every
    default filled in; the server-set keys are left out (the caller adds its own)."""
    sent = {key: value for key, value in args.items() if key not in SERVER_KEYS}
    try:
        checked = model.model_validate(sent)
    except ValidationError as e:
        raise _invalid(operation, e) from None
    return checked.model_dump()


def _invalid(operation: str, error: ValidationError) -> InvalidRequest:
    problems = field_errors(error)
    named = "; ".join(f"'{p['field']}': {p['problem']}" for p in problems)
    return InvalidRequest(f"bad arguments for '{operation}': {named}", problems, reason="invalid_arguments")
