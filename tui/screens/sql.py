"""SQL: a read-only console over the store, results in a table."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Input, Label

from appliance.errors import VigilError
from tui.base import DataScreen
from tui.header import StatusBar

MAX_ROWS = 1000


class SqlScreen(DataScreen):
    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Input(placeholder="SELECT … (read-only; enter runs it)", id="query")
        yield Label("", id="sql-status", classes="section")
        yield DataTable(id="result", zebra_stripes=True)
        yield Footer()

    def on_screen_resume(self) -> None:
        self.query_one("#query", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            return
        self.query_one("#sql-status", Label).update("running…")

        def work() -> None:
            try:
                result = self.call("sql", {"query": query})
            except VigilError as e:
                self.vigil.call_from_thread(self.query_one("#sql-status", Label).update, f"error: {e}")
                return
            self.vigil.call_from_thread(self._result, result)

        self.run_worker(work, thread=True, exclusive=True, group="sql", exit_on_error=False)

    def _result(self, result: dict[str, Any]) -> None:
        table = self.query_one("#result", DataTable)
        table.clear(columns=True)
        table.add_columns(*result["columns"])
        for row in result["rows"][:MAX_ROWS]:
            table.add_row(*["NULL" if v is None else str(v) for v in row])
        more = f" (first {MAX_ROWS} shown)" if len(result["rows"]) > MAX_ROWS else ""
        self.query_one("#sql-status", Label).update(f"{len(result['rows'])} rows{more}")
