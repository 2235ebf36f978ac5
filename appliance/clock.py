"""Vigil's one notion of now: naive UTC datetimes (every TIMESTAMP in the store is UTC)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
