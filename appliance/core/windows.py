"""Time spans given on the command line and the admin API: 30m, 24h, 7d."""

from __future__ import annotations

import re
from datetime import timedelta

from appliance.errors import WindowError

_WINDOW = re.compile(r"^(\d+)([mhd])$")


def parse_window(text: str) -> timedelta:
    found = _WINDOW.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise WindowError(f"window '{text}' is not a duration like 30m, 24h or 7d")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
    return timedelta(**{unit: int(found.group(1))})
