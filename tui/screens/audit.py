"""Audit: the audit log, newest first, with a filter, and whether its hash chain verifies."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill
from tui.format import when
from tui.header import StatusBar


class AuditScreen(DataScreen):
    BINDINGS = [Binding("slash", "filter", "filter")]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Audit log", classes="section", id="chain")
        table: DataTable[Any] = DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "at", "actor", "action", "subject", "before → after", "reason")
        yield table
        yield Footer()

    def fetch(self) -> Any:
        asked = self.filter_text  # the rows shown are said to be filtered by what this fetch asked for
        return {**self.call("audit_log", {"filter": asked, "limit": 300}), "filter": asked}

    def show(self, data: Any) -> None:
        v = data["verification"]
        chain = (f"chain intact: {v['rows']} rows, head {v['head'][:16]}" if v["ok"]
                 else f"AUDIT LOG BROKEN: {v['problem']}")
        shown = f"; filter '{data['filter']}'" if data["filter"] else ""
        self.query_one("#chain", Label).update(f"Audit log ({chain}{shown}; / filters)")
        refill(self.query_one("#audit", DataTable), [
            (str(r["id"]), [r["id"], when(r["recorded_at"]), r["actor"], r["action"],
                            r["subject"] or (r["model_name"] or ""),
                            f"{r['before'] or '-'} → {r['after'] or '-'}"[:60], (r["reason"] or "")[:60]])
            for r in data["rows"]])

    def action_filter(self) -> None:
        self.ask_filter()
