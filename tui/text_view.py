"""A record in full: a modal that shows long text wrapped and scrollable (an audit row's before and
after, an alert without an incident). Arrows, pgup/pgdn and home/end scroll; esc or q closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.format import shown


class TextView(ModalScreen[None]):
    DEFAULT_CSS = """
    TextView { align: center middle; }
    TextView > VerticalScroll { width: 100; max-width: 100%; height: auto; max-height: 90%; }
    """
    BINDINGS = [Binding("escape,q", "close", "close")]
    AUTO_FOCUS = "#text-view"

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="text-view"):
            yield Label(shown(self.title_text), classes="dialog-title")
            yield Static(shown(self.text), id="text-view-body")
            yield Label("arrows / pgup / pgdn scroll    esc: close", classes="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)
