"""The shape every console screen shares: fetch in a worker thread, show on the UI thread.

A refresh never blocks a keystroke: `fetch` runs in a thread worker (one at a time per screen; a
newer refresh replaces an older one), and only `show` touches widgets. An action (rollback, approve,
…) runs the same way and then refreshes the screen at once, so its effect shows within a second.
A screen's actions reach the daemon in the order their keys were pressed: a note typed before
"write the postmortem" is in the postmortem.

Every screen's tables move with the arrows and with vim's keys (`j`/`k` down and up, `h`/`l` scroll
left and right, `g`/`G` top and bottom). The `/` filter is live: it narrows the tables named in
`FILTERED` as each key is typed (re-showing the last data, no fetch), or — with `FILTER_FETCHES`,
where the daemon filters (audit) — refetches. A filter belongs to its screen: switching screens
clears it. A refresh keeps each table's cursor row and horizontal scroll.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from appliance.errors import VigilError
from tui.filter_bar import FilterBar, FilterLine

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
    BINDINGS = [
        Binding("j", "table('cursor_down')", "down", show=False),
        Binding("k", "table('cursor_up')", "up", show=False),
        Binding("h", "table('cursor_left')", "scroll left", show=False),
        Binding("l", "table('cursor_right')", "scroll right", show=False),
        Binding("g", "table('scroll_top')", "top", show=False),
        Binding("G", "table('scroll_bottom')", "bottom", show=False),
        Binding("slash", "filter", "filter"),
    ]
    FILTERED: tuple[str, ...] = ()  # ids of the tables the `/` filter narrows
    FILTER_FETCHES = False  # the daemon filters (each change refetches)
    filter_text: str = ""
    shown: int = 0  # how many times data reached the screen
    last_data: Any = None  # what the screen showed last, re-shown when the filter or the size changes

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
        self.last_data = data
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

    def on_resize(self) -> None:
        if self.last_data is not None:
            self.show(self.last_data)  # column priorities depend on the width

    # -- keys in tables -----------------------------------------------------------------------
    def action_table(self, move: str) -> None:
        """A table key (`j`, `k`, …) on the focused table."""
        table = self.focused
        if isinstance(table, DataTable):
            getattr(table, f"action_{move}")()

    # -- the live filter ----------------------------------------------------------------------
    def action_filter(self) -> None:
        self.open_filter()

    def ask_filter(self) -> None:
        self.open_filter()

    def open_filter(self) -> None:
        """Open (or go back to) the filter line under the tables."""
        if not self.FILTERED and not self.FILTER_FETCHES:
            self.notify("nothing to filter on this screen", severity="warning")
            return
        bars = self.query(FilterBar)
        bar = bars.first() if bars else FilterBar(self.filter_text)
        if not bars:
            footers = self.query(Footer)
            self.mount(FilterLine(bar), before=footers.first() if footers else None)
        bar.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            event.stop()
            self.set_filter(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, FilterBar):
            event.stop()
            self._focus_table()

    def set_filter(self, text: str) -> None:
        """Narrow the rows to those holding `text` (any case), at once."""
        if text == self.filter_text:
            return
        self.filter_text = text
        if self.FILTER_FETCHES:
            self.reload()
        elif self.last_data is not None:
            self.show(self.last_data)

    def clear_filter(self) -> bool:
        """Close the filter and show every row; whether there was one to clear."""
        lines = self.query(FilterLine)
        had = bool(lines) or bool(self.filter_text)
        if lines:
            lines.remove()
            self._focus_table()
        self.set_filter("")
        return had

    def _focus_table(self) -> None:
        tables = [t for t in self.query(DataTable) if t.id in self.FILTERED] or list(self.query(DataTable))
        if tables:
            tables[0].focus()


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    return None if key.value is None else str(key.value)


def filtered(table: DataTable[Any], rows: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    """The rows the table's screen filter lets through: those whose cells hold its text (any case)."""
    screen = table.screen if table.is_attached else None
    if not isinstance(screen, DataScreen) or not screen.filter_text or table.id not in screen.FILTERED:
        return rows
    wanted = screen.filter_text.lower()
    return [(key, cells) for key, cells in rows if wanted in " ".join(str(c) for c in cells).lower()]


def refill(table: DataTable[Any], rows: list[tuple[str, list[Any]]]) -> None:
    """Show `rows` (filtered by the screen's filter), keeping the cursor on the same key when it is
    still there, and the horizontal scroll."""
    replace_rows(table, filtered(table, rows))


def as_text(cell: Any) -> Any:
    """A table cell as it reads: a text cell is shown as written, never parsed as markup (a reason, a
    title or a subject is anyone's text, and `[/b]` in it would stop the screen from drawing), with
    control characters escaped (tui/format.plain)."""
    from tui.format import shown

    return shown(cell) if isinstance(cell, str) else cell


def replace_rows(table: DataTable[Any], rows: list[tuple[str, list[Any]]]) -> None:
    """Replace a table's rows: in place when the same keys come in the same order (scroll and cursor
    untouched), else anew with the cursor on the same key and the horizontal scroll kept."""
    rows = [(key, [as_text(c) for c in cells]) for key, cells in rows]
    current = [str(key.value) for key in table.rows]
    columns = list(table.columns)
    if current == [key for key, _ in rows] and all(len(cells) == len(columns) for _, cells in rows):
        for key, cells in rows:
            for column, old, new in zip(columns, table.get_row(key), cells):
                if old != new:
                    table.update_cell(key, column, new, update_width=True)
        return
    keep, scroll_x = selected_key(table), table.scroll_x
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    keys = [key for key, _ in rows]
    if keep in keys:
        table.move_cursor(row=keys.index(keep), animate=False)
    if scroll_x:
        table.scroll_to(x=scroll_x, animate=False, force=True)
