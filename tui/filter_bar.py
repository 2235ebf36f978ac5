"""The live filter under a screen's tables: `/` opens it, each keystroke narrows the rows at once,
`enter` keeps the filter and goes back to the table, `esc` clears it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar { width: 1fr; height: 1; border: none; padding: 0 1; background: $boost; }
    FilterBar:focus { border: none; background: $accent 30%; }
    """

    def __init__(self, value: str = "") -> None:
        super().__init__(value=value, placeholder="type to narrow the rows · enter keeps · esc clears",
                         id="filter-bar")


class FilterLine(Horizontal):
    """The filter bar behind its `/` mark, one line high."""

    DEFAULT_CSS = """
    FilterLine { height: 1; }
    FilterLine > Label { width: auto; padding: 0 0 0 1; text-style: bold; }
    """

    def __init__(self, bar: FilterBar) -> None:
        super().__init__()
        self.bar = bar

    def compose(self) -> ComposeResult:
        yield Label("/")
        yield self.bar

    def on_mount(self) -> None:
        self.bar.focus()  # the bar exists only now: a focus asked for before mounting is lost
