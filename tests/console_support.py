"""What the console's Pilot tests share: waiting for a screen to show something, and reading its tables,
status line and notifications."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable


async def until(pilot: Any, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Let the app run until `check()` is truthy; return its value. A widget not found yet (a screen
    still being composed) counts as not yet."""
    from textual.css.query import NoMatches

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except NoMatches:
            found = None
        if found:
            return found
        await pilot.pause(0.05)
    raise AssertionError(f"not within {timeout} s: {check}")


def table(app: Any, table_id: str) -> Any:
    from textual.widgets import DataTable

    return app.screen.query_one(f"#{table_id}", DataTable)


def cells(app: Any, table_id: str) -> list[list[str]]:
    shown = table(app, table_id)
    return [[str(c) for c in shown.get_row_at(i)] for i in range(shown.row_count)]


def status(app: Any) -> str:
    from tui.header import StatusBar

    return str(app.screen.query_one(StatusBar).render())


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())
