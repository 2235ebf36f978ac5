"""Turn a pydantic ValidationError into one line naming each bad field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def field_errors(error: ValidationError) -> list[dict[str, Any]]:
    """[{"field": "a.b", "problem": "..."}] for each bad field."""
    found = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"]) or "(file)"
        problem = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        problem = problem.removeprefix("Value error, ")
        found.append({"field": location, "problem": problem})
    return found


def describe(error: ValidationError) -> str:
    return "; ".join(f"'{e['field']}': {e['problem']}" for e in field_errors(error))
