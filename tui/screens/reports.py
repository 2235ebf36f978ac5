"""Reports: the HTML reports written (weekly job and `vigil report`), newest first; enter shows the
file to open or copy, w writes one now into the home's reports/."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill, selected_key
from tui.dialogs import Ask
from tui.format import shown, when
from tui.header import StatusBar


class ReportsScreen(DataScreen):
    BINDINGS = [Binding("enter", "open", "where is it", tooltip="where the selected report's file is, how to open it"),
                Binding("w", "write", "write a report now",
                        tooltip="write a report now into the home's reports/ (asks which model and window)")]
    FILTERED = ("reports",)
    rows: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Reports", classes="section", id="reports-title")
        table: DataTable[Any] = DataTable(id="reports", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "model", "window", "trigger", "written", "by", "file")
        yield table
        yield Footer()

    def fetch(self) -> Any:
        return self.call("reports", {"limit": 200})

    def show(self, data: Any) -> None:
        found = data["reports"]
        self.rows = {str(r["report_id"]): r for r in found}
        table = self.query_one("#reports", DataTable)
        refill(table, [
            (str(r["report_id"]), [r["report_id"], r["model_name"],
                                   f"{when(r['window_start'])} .. {when(r['window_end'])}", r["trigger"],
                                   when(r["created_at"]), r["created_by"],
                                   r["path"] if r["exists"] else f"{r['path']} (gone)"]) for r in found])
        narrowed = f" of {len(found)}; filter '{self.filter_text}'" if self.filter_text else ""
        self.query_one("#reports-title", Label).update(
            shown(f"Reports ({table.row_count}{narrowed}; enter: where is it, w: write one now)"))

    def action_open(self) -> None:
        key = selected_key(self.query_one("#reports", DataTable))
        if key is None or key not in self.rows:
            return
        r = self.rows[key]
        if not r["exists"]:
            self.notify(f"report {key}: {r['path']} is no longer there", severity="warning", timeout=8)
            return
        self.notify(f"report {key} ({r['bytes']:,} bytes, self-contained HTML): {r['path']}\n"
                    f"open it on this machine with: xdg-open {r['path']}\n"
                    f"or copy it with: scp HOST:{r['path']} . and open it in any browser", timeout=15)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`enter` on a row (the focused table takes the key before the screen's binding)."""
        self.action_open()

    def action_write(self) -> None:
        def ask_window(model: str | None) -> None:
            if not model:
                return

            def go(window: str | None) -> None:
                if window:
                    self.act("report", {"name": model, "window": window},
                             lambda r: f"report {r['report_id']} written: {r['path']}")

            self.app.push_screen(Ask(f"report on {model}: over which window?", value="7d"), go)

        self.app.push_screen(Ask("report on which model?"), ask_window)
