"""The one JSON fallback for values the standard encoder does not know (dates, NumPy scalars)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
