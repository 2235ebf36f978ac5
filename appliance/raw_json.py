"""JSON text that is already encoded, carried as it is into a response instead of being parsed again.

A console result of 10,000 rows is rendered as JSON by DuckDB; turning it into Python objects and
encoding it again would hold the interpreter lock (and so stall every scoring thread) for tens of
milliseconds. `dumps` encodes a payload that holds `RawJSON` values by splicing their text in.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from appliance.jsonable import plain


@dataclass(frozen=True, slots=True)
class RawJSON:
    """One JSON value as text (UTF-8 allowed; NaN and Infinity as Python's json writes them)."""

    text: str

    def value(self) -> Any:
        """The value as Python objects, for callers in the same process (the CLI without a daemon)."""
        return json.loads(self.text)


def dumps(payload: Any) -> str:
    """`payload` as JSON text: `plain` for dates and NumPy scalars, each RawJSON's text spliced in."""
    spliced: list[RawJSON] = []
    marker: list[str] = []  # made on the first RawJSON, so other answers pay nothing

    def fallback(value: Any) -> Any:
        if isinstance(value, RawJSON):
            marker[:] = marker or [secrets.token_hex(16)]
            spliced.append(value)
            return f"{marker[0]}-{len(spliced) - 1}"
        return plain(value)

    text = json.dumps(payload, default=fallback)
    for index, raw in enumerate(spliced):
        text = text.replace(f'"{marker[0]}-{index}"', raw.text, 1)
    return text
