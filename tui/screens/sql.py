"""SQL: a read-only console over the store, results in a table.

The daemon (or, without one, this process) checks and limits each query (`[sql]` in vigil.toml):
this screen waits a little longer than `sql.timeout`, and says when a result was truncated.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Input, Label

from appliance.errors import VigilError
from tui.base import DataScreen, as_text
from tui.format import shown
from tui.header import StatusBar

MAX_ROWS = 1000  # rows put in the table; the status line gives the whole count
WAIT_MARGIN_S = 5.0  # waited beyond sql.timeout, so the query's own timeout answers first


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
                result = self.vigil.connection.call("sql", {"query": query}, timeout_s=self._wait_s())
            except VigilError as e:
                self.vigil.call_from_thread(self.query_one("#sql-status", Label).update, shown(f"error: {e}"))
                return
            self.vigil.call_from_thread(self._result, result)

        self.run_worker(work, thread=True, exclusive=True, group="sql", exit_on_error=False)

    def _wait_s(self) -> float:
        from appliance.config import load_config

        try:
            return load_config(self.vigil.connection.home.root).sql.timeout + WAIT_MARGIN_S
        except VigilError:
            return self.vigil.connection.timeout_s

    def _result(self, result: dict[str, Any]) -> None:
        table = self.query_one("#result", DataTable)
        table.clear(columns=True)
        table.add_columns(*[as_text(str(c)) for c in result["columns"]])
        for row in result["rows"][:MAX_ROWS]:
            table.add_row(*[as_text("NULL" if v is None else str(v)) for v in row])
        self.query_one("#sql-status", Label).update(status_line(result))


def status_line(result: dict[str, Any]) -> str:
    """'N rows', and whether the result was truncated (sql.max_rows) or only partly shown."""
    count = len(result["rows"])
    line = f"{count:,} rows"
    if result.get("truncated"):
        line += f" — TRUNCATED at {result['max_rows']:,} (sql.max_rows); narrow the query"
    if count > MAX_ROWS:
        line += f" (first {MAX_ROWS:,} shown)"
    return line
