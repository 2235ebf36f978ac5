"""The shape every console screen shares: fetch in a worker thread, show on the UI thread.

A refresh never blocks a keystroke: `fetch` runs in a thread worker (one at a time per screen; a
newer refresh replaces an older one), and only `show` touches widgets. An action (rollback, approve,
…) runs the same way and then refreshes the screen at once, so its effect shows within a second.
A screen's actions reach the daemon in the order their keys were pressed: a note typed before
"write the postmortem" is in the postmortem.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from textual.screen import Screen
from textual.widgets import DataTable

from appliance.errors import VigilError

if TYPE_CHECKING:
    from tui.app import VigilApp


class InOrder:
    """Tickets that let worker threads take turns in the order the UI thread handed them out."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._issued = 0
        self._serving = 0

    def ticket(self) -> int:
        """Hand out the next ticket (UI thread)."""
        self._issued += 1
        return self._issued - 1

    def wait(self, ticket: int) -> None:
        with self._turn:
            self._turn.wait_for(lambda: self._serving == ticket)

    def done(self) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()


class DataScreen(Screen[None]):
    filter_text: str = ""
    shown: int = 0  # how many times data reached the screen

    @property
    def vigil(self) -> "VigilApp":
        from tui.app import VigilApp

        assert isinstance(self.app, VigilApp)
        return self.app

    def call(self, name: str, args: dict[str, Any] | None = None) -> Any:
        """Run an operation (from a worker thread)."""
        return self.vigil.connection.call(name, args)

    # -- refresh ------------------------------------------------------------------------------
    def fetch(self) -> Any:
        """Gather what the screen shows (runs in a worker thread)."""
        return None

    def show(self, data: Any) -> None:
        """Put `data` on screen (UI thread)."""

    def reload(self) -> None:
        self.run_worker(self._load, thread=True, exclusive=True, group="reload", exit_on_error=False)

    def _load(self) -> None:
        try:
            data = self.fetch()
        except VigilError as e:
            self.vigil.call_from_thread(self.vigil.fetch_failed, str(e))
            return
        self.vigil.call_from_thread(self._shown, data)

    def _shown(self, data: Any) -> None:
        self.show(data)
        self.shown += 1
        self.vigil.fetched()

    def on_screen_resume(self) -> None:
        self.reload()

    # -- actions ------------------------------------------------------------------------------
    def act(self, name: str, args: dict[str, Any], done: Callable[[Any], str]) -> None:
        """Run a changing operation in a worker, after this screen's earlier ones; notify its outcome
        (or error) and refresh."""
        if "_in_order" not in self.__dict__:
            self._in_order = InOrder()
        in_order = self._in_order
        ticket = in_order.ticket()

        def work() -> None:
            in_order.wait(ticket)
            try:
                result = self.call(name, args)
            except VigilError as e:
                self.vigil.call_from_thread(self.notify, str(e), severity="error", timeout=8)
                return
            finally:
                in_order.done()
            self.vigil.call_from_thread(self.notify, done(result), timeout=6)
            self.vigil.call_from_thread(self.reload)

        self.run_worker(work, thread=True, group="action", exit_on_error=False)

    def ask_filter(self) -> None:
        from tui.dialogs import Ask

        def apply(text: str | None) -> None:
            if text is not None:
                self.filter_text = text
                self.reload()

        self.app.push_screen(Ask("filter (empty: show all)", value=self.filter_text, allow_empty=True), apply)


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    return None if key.value is None else str(key.value)


def refill(table: DataTable[Any], rows: list[tuple[str, list[Any]]]) -> None:
    """Replace a table's rows, keeping the cursor on the same key when it is still there."""
    keep = selected_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    keys = [key for key, _ in rows]
    if keep in keys:
        table.move_cursor(row=keys.index(keep), animate=False)
