"""Parse a JSON request body at the edge: encoding, nesting depth and text, each problem naming its field.

Python's `json` accepts what the store cannot keep: a lone surrogate (`"\\ud800"`) or a NUL in a
string, and nesting so deep that parsing raises `RecursionError`. One such body must be refused
here, as a 400 naming the field, so it can never reach the prediction log or fail a neighbour's
request. Invalid UTF-8 inside a string is decoded with `surrogateescape`, so it is refused with its
field named too, rather than as an unreadable body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from appliance.errors import InvalidRequest

MAX_DEPTH = 64  # objects and lists inside one another; scoring and feedback bodies need three or four
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_RISKY = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")  # a NUL or surrogate escape
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded body, or InvalidRequest naming the first bad field."""
    text, invalid_bytes = _decode(raw)
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep("(body)", max_depth) from None
    except ValueError as e:  # also integers longer than Python's digit limit
        raise InvalidRequest(f"the body is not valid JSON: {e}", [
            {"field": "(body)", "problem": f"invalid JSON: {e}", "kind": "invalid_json"}],
            reason="invalid_json") from e
    if _depth(text, max_depth) > max_depth:
        raise too_deep("(body)", max_depth)
    if invalid_bytes or ("\\u" in text and _RISKY.search(text)):
        check_strings(value)
    return value


def check_strings(value: Any) -> None:
    """InvalidRequest naming the first string or key in `value` the store cannot keep (walked without recursion)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            check_text(item, path or "(body)")
        elif isinstance(item, (dict, list)):
            stack.extend(_children(item, path))


def _depth(text: str, max_depth: int) -> int:
    """How deeply objects and lists nest in JSON `text` (at most `max_depth` + 1 is exact enough).

    Counted over the raw characters first, in C; only when that count is over the limit are the
    strings taken out (brackets inside them do not nest) and the count made again."""
    if text.count("[") + text.count("{") <= max_depth:
        return 0
    depth = _bracket_depth(text)
    return depth if depth <= max_depth else _bracket_depth(_STRING.sub('""', text))


def _bracket_depth(text: str) -> int:
    """One table look-up per byte (+1 opens, -1 closes), then a running sum over the brackets alone."""
    import numpy as np

    steps = np.zeros(256, dtype=np.int8)
    steps[[ord("["), ord("{")]], steps[[ord("]"), ord("}")]] = 1, -1
    per_byte = steps[np.frombuffer(text.encode("utf-8", "surrogateescape"), dtype=np.uint8)]
    return int(np.cumsum(per_byte[per_byte != 0], dtype=np.int64).max(initial=0))


def _children(item: dict[str, Any] | list[Any], path: str) -> list[tuple[Any, str]]:
    if isinstance(item, list):
        return [(child, f"{path}[{index}]") for index, child in enumerate(item)]
    found = []
    for key, child in item.items():
        where = f"{path}.{_shown_key(key)}" if path else _shown_key(key)
        check_text(key, where)
        found.append((child, where))
    return found


def check_text(text: str, where: str) -> None:
    """InvalidRequest naming `where` when `text` holds a NUL, a lone surrogate or an escaped invalid byte."""
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return
    problem = "contains a NUL character" if bad.group() == "\x00" else \
        "contains invalid UTF-8 or a lone surrogate (text must be valid Unicode)"
    raise InvalidRequest(f"{where}: {problem}", [{"field": where, "problem": problem, "kind": "invalid_text"}],
                         reason="invalid_text")


def too_deep(where: str, max_depth: int) -> InvalidRequest:
    problem = f"objects and lists nested deeper than {max_depth} levels"
    return InvalidRequest(f"{where}: {problem}", [{"field": where, "problem": problem, "kind": "too_deep"}],
                          reason="too_deep")


def _decode(raw: bytes) -> tuple[str, bool]:
    """The text, and whether it held invalid UTF-8 (kept as surrogate escapes, found later with their
    field); UTF-16/32 when the body says so with its first bytes, as JSON allows."""
    encoding = json.detect_encoding(raw)
    try:
        return raw.decode(encoding), False
    except UnicodeDecodeError as e:
        if encoding == "utf-8":
            return raw.decode(encoding, "surrogateescape"), True
        raise InvalidRequest(f"the body is not valid {encoding}: {e}", [
            {"field": "(body)", "problem": f"not valid {encoding}", "kind": "invalid_json"}],
            reason="invalid_json") from e


def _shown_key(key: str) -> str:
    """A key as it may be shown in a field name (escaped when it is not valid text itself)."""
    return key if _BAD_TEXT.search(key) is None else ascii(key)[1:-1]
