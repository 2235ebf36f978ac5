"""Audit: the audit log, newest first, with a filter, and whether its hash chain verifies."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill
from tui.format import shown, when
from tui.header import StatusBar


class AuditScreen(DataScreen):
    FILTER_FETCHES = True  # the daemon filters the whole log (actor, action, subject, model, reason, details)
    rows: dict[str, dict[str, Any]] = {}  # the rows shown, by id (enter opens one in full)

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
        if data["filter"] != self.filter_text:
            return  # fetched for a filter since typed over; the fetch for the current one follows
        v = data["verification"]
        chain = (f"chain intact: {v['rows']} rows, head {v['head'][:16]}" if v["ok"]
                 else f"AUDIT LOG BROKEN: {v['problem']}")
        narrowed = f"; filter '{data['filter']}'" if data["filter"] else ""
        self.query_one("#chain", Label).update(shown(f"Audit log ({chain}{narrowed}; / filters)"))
        self.rows = {str(r["id"]): r for r in data["rows"]}
        refill(self.query_one("#audit", DataTable), [
            (str(r["id"]), [r["id"], when(r["recorded_at"]), r["actor"], r["action"],
                            r["subject"] or (r["model_name"] or ""),
                            f"{r['before'] or '-'} → {r['after'] or '-'}"[:60], (r["reason"] or "")[:60]])
            for r in data["rows"]])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`enter` opens the row in full: before, after, reason and details, wrapped and scrollable."""
        from tui.text_view import TextView

        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            self.app.push_screen(TextView(f"audit {row['id']}: {row['action']} by {row['actor']}", audit_text(row)))


def audit_text(row: dict[str, Any]) -> str:
    """An audit row in full: who, what, when, and before, after and details as indented JSON."""
    lines = [f"at: {when(row['recorded_at'])} UTC", f"actor: {row['actor']}", f"action: {row['action']}",
             f"subject: {row['subject'] or '-'}",
             f"model: {row['model_name'] or '-'}" + (f" v{row['version']}" if row.get("version") is not None else ""),
             f"reason: {row['reason'] or '-'}"]
    for name in ("before", "after", "details"):
        lines += ["", f"{name}:", _json(row.get(name))]
    return "\n".join(lines)


def _json(text: str | None) -> str:
    """Stored JSON indented for reading; anything else as it is."""
    if text is None:
        return "  -"
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True, default=str)
    except ValueError:
        return text
