"""The top line of every screen: who you are, your role, how the console reaches Vigil, and — at the
right edge, kept at every width and in every mode — when the screen was last refreshed.

The state's text may name a command in backticks (`vigil up`); the line shows it in bold instead,
so no literal backtick reaches the screen.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

CODE = re.compile(r"`([^`]+)`")
PREFIX = "Vigil · "


def styled(text: str) -> Text:
    """`text` with each `code` span shown in bold, without its backticks."""
    line, at = Text(), 0
    for found in CODE.finditer(text):
        line.append(text[at:found.start()])
        line.append(found.group(1), style="bold")
        at = found.end()
    line.append(text[at:])
    return line


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; color: $text; padding: 0 1; }
    StatusBar.down { background: $error; color: $text; text-style: bold; }
    StatusBar.read-only { background: $warning; color: $text; text-style: bold; }
    """
    text = ""
    clock = ""

    def on_mount(self) -> None:
        from tui.app import VigilApp

        app = self.app
        if isinstance(app, VigilApp):
            text, clock = app.status_parts()
            self.set_status(text, app.connection.state.mode, clock)

    def set_status(self, text: str, mode: str, clock: str = "") -> None:
        self.text, self.clock = text, clock
        self.set_class(mode == "down", "down")
        self.set_class(mode == "read-only", "read-only")
        self.refresh()

    def render(self) -> Text:
        """The state on the left (shortened with … when the line is too narrow), the clock on the right."""
        width = self.content_region.width or 80
        room = width - (cell_len(self.clock) + 2 if self.clock else 0)
        text = self.text
        if cell_len(text) > room and text.startswith(PREFIX):
            text = text[len(PREFIX):]
        line = styled(text)
        line.truncate(max(1, room), overflow="ellipsis")
        if self.clock:
            line.pad_right(max(0, width - cell_len(line.plain) - cell_len(self.clock)))
            line.append(self.clock)
        return line
