"""Modal dialogs: confirm an action, ask for a line of text, show help.

A confirmation never takes `enter` for yes: `y` goes ahead, `n` or `esc` cancels, and `enter`
cancels too (saying that `y` goes ahead), so a habitual `enter` can't roll back a model.
"""

from __future__ import annotations

from typing import Callable, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static

from tui.format import plain, shown

Section = tuple[str, Sequence[tuple[str, str]]]  # a title and its (key, what it does) lines
HELP_TWO_COLUMNS = 150  # terminal columns from which the help shows its sections side by side


class Confirm(ModalScreen[bool]):
    """Say what will happen; `y` does it; `n`, `esc` and `enter` do not. The title is shown as written;
    the body is markup (its callers escape what they quote), its control characters escaped."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no"),
                Binding("enter", "enter", "cancel", show=False)]
    KEYS = "y: go ahead    n / esc / enter: cancel"

    def __init__(self, title: str, body: str = "") -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.title_text), classes="dialog-title")
            yield Static(plain(self.body))
            yield Label(self.KEYS, classes="dialog-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    def action_enter(self) -> None:
        self.app.notify("cancelled: y goes ahead", severity="warning", timeout=4)
        self.dismiss(False)


class ConfirmLine(Confirm):
    """A one-line confirmation at the bottom of the screen, for a small step (acknowledge)."""

    DEFAULT_CSS = """
    ConfirmLine { align: center bottom; background: $background 30%; }
    ConfirmLine > #confirm-line { width: 100%; height: 1; background: $warning; color: $text;
                                  text-style: bold; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label(shown(f"{self.title_text}  [y/n]"), id="confirm-line")


class Ask(ModalScreen[str | None]):
    """One line of text (a reason, a command); `esc` cancels. With a suggester, `tab` (or the right
    arrow at the end) takes the suggestion; with `hint`, the line under the input says what the text
    typed so far would do."""

    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("tab", "complete", "complete", show=False)]

    def __init__(self, title: str, placeholder: str = "", value: str = "", allow_empty: bool = False,
                 suggester: Suggester | None = None, hint: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value, self.allow_empty = title, placeholder, value, allow_empty
        self.suggester, self.hint = suggester, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(shown(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="answer", suggester=self.suggester)
            if self.hint is not None:
                yield Label(Text(self.hint(self.value)), id="hint", classes="dialog-keys")
            yield Label("enter: ok    esc: cancel" + ("    tab: complete" if self.suggester else ""),
                        classes="dialog-keys")

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.hint is not None:
            self.query_one("#hint", Label).update(Text(self.hint(event.value)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text or self.allow_empty:
            self.dismiss(text)
        else:
            self.notify("this needs an answer (esc cancels)", severity="warning")

    def action_complete(self) -> None:
        answer = self.query_one("#answer", Input)
        answer.action_end()
        answer.action_cursor_right()  # at the end, this takes the suggestion

    def action_cancel(self) -> None:
        self.dismiss(None)


def section_table(section: Section) -> Group:
    """A section of the help: its title, then two columns (a long description wraps inside its own)."""
    title, lines = section
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for key, what in lines:
        table.add_row(key, what)
    return Group(Text(title, style="bold underline"), table)


class Help(ModalScreen[None]):
    """Text (a request's explanation) or the key help: sections laid out in columns, side by side on
    a wide terminal."""

    DEFAULT_CSS = """
    Help Grid { grid-size: 1; grid-gutter: 0 3; height: auto; grid-rows: auto; }
    Help Grid > Static { height: auto; margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "close")]

    def __init__(self, text: str | Sequence[Section], title: str = "") -> None:
        super().__init__()
        self.text, self.title_text = text, title

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            if isinstance(self.text, str):  # markup: its callers escape what they quote
                yield Static(plain(self.text))
                return
            if self.title_text:
                yield Label(self.title_text, classes="dialog-title")
            with Grid():
                for section in self.text:
                    yield Static(section_table(section))
            yield Label("esc / q / ?: close    arrows, pgup/pgdn: scroll", classes="dialog-keys")

    def on_mount(self) -> None:
        self.on_resize()

    def on_resize(self) -> None:
        wide = self.app.size.width >= HELP_TWO_COLUMNS and not isinstance(self.text, str)
        self.query_one(".help").styles.width = 146 if wide else 76
        for grid in self.query(Grid):
            grid.styles.grid_size_columns = 2 if wide else 1

    def action_close(self) -> None:
        self.dismiss(None)
