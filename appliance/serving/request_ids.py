"""The request id alphabet: what a client may name its request, checked before anything is logged.

A request id is stored in the prediction log, joined with feedback labels and sent back in the
`X-Request-Id` header, so it must be safe in all three: 1 to 128 characters of ASCII letters,
digits and `.`, `_`, `:`, `-` (enough for UUIDs, ULIDs and `order-17:retry.2`). Anything else is a
400 naming the field, answered before the request is scored.
"""

from __future__ import annotations

import re

from appliance.errors import InvalidRequest

MAX_LENGTH = 128
ALPHABET = "A-Z, a-z, 0-9 and . _ : -"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def problem(value: object) -> str | None:
    """Why `value` is not a valid request id, or None when it is."""
    if not isinstance(value, str):
        return "must be a string"
    if _VALID.fullmatch(value) is None:
        return f"must be 1 to {MAX_LENGTH} characters of {ALPHABET}"
    return None


def checked(value: object, field: str) -> str | None:
    """`value` when it is absent (None) or a valid request id; else InvalidRequest naming `field`."""
    if value is None:
        return None
    found = problem(value)
    if found is not None:
        raise InvalidRequest(f"'{field}' {found}", [{"field": field, "problem": found, "kind": "invalid_request_id"}],
                             reason="invalid_request_id")
    return value  # type: ignore[return-value]
