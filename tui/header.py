"""The top line of every screen: who you are, your role, and how the console reaches Vigil."""

from __future__ import annotations

from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; color: $text; padding: 0 1; }
    StatusBar.down { background: $error; color: $text; text-style: bold; }
    StatusBar.read-only { background: $warning; color: $text; text-style: bold; }
    """

    def on_mount(self) -> None:
        from tui.app import VigilApp

        app = self.app
        if isinstance(app, VigilApp):
            self.set_status(app.status_line(), app.connection.state.mode)

    def set_status(self, text: str, mode: str) -> None:
        self.update(text)
        self.set_class(mode == "down", "down")
        self.set_class(mode == "read-only", "read-only")
