"""Alerts and incidents: acknowledge, resolve, add a note, export a postmortem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill, selected_key
from tui.dialogs import Ask
from tui.format import number, when
from tui.header import StatusBar


class AlertsScreen(DataScreen):
    BINDINGS = [
        Binding("k", "acknowledge", "ack"),
        Binding("n", "note", "note"),
        Binding("s", "resolve", "resolve"),
        Binding("e", "postmortem", "postmortem"),
        Binding("A", "toggle_all", "all/open"),
        Binding("slash", "filter", "filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_all = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Incidents", classes="section", id="incidents-title")
        incidents: DataTable[Any] = DataTable(id="incidents", cursor_type="row", zebra_stripes=True)
        incidents.add_columns("id", "status", "model", "title", "opened", "acked by")
        yield incidents
        yield Label("Alerts", classes="section", id="alerts-title")
        alerts: DataTable[Any] = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        alerts.add_columns("id", "status", "severity", "model", "rule", "subject", "value", "opened", "incident")
        yield alerts
        yield Footer()

    def fetch(self) -> Any:
        return {"alerts": self.call("alerts", {"all": self.show_all}),
                "incidents": self.call("incidents", {"all": self.show_all})}

    def show(self, data: Any) -> None:
        wanted = self.filter_text.lower()
        incident_rows = data["incidents"]["incidents"]
        refill(self.query_one("#incidents", DataTable), [
            (str(i["incident_id"]), [i["incident_id"], i["status"], i["model_name"], i["title"], when(i["opened_at"]),
                                     i.get("acknowledged_by") or ""])
            for i in incident_rows if wanted in f"{i['model_name']} {i['title']}".lower()])
        refill(self.query_one("#alerts", DataTable), [
            (str(a["alert_id"]), [a["alert_id"], a["status"], a["severity"], a["model_name"], a["rule"], a["subject"],
                                  number(a["value"]), when(a["opened_at"]), a["incident_id"] or ""])
            for a in data["alerts"]["alerts"] if wanted in f"{a['model_name']} {a['rule']} {a['subject']}".lower()])
        scope = "all" if self.show_all else "open"
        self.query_one("#incidents-title", Label).update(f"Incidents ({scope}; k ack, n note, s resolve, "
                                                         "e postmortem)")
        self.query_one("#alerts-title", Label).update(f"Alerts ({scope}; A shows {'open' if self.show_all else 'all'})")

    def _incident(self) -> int | None:
        key = selected_key(self.query_one("#incidents", DataTable))
        if key is None:
            self.notify("no incident selected", severity="warning")
        return int(key) if key else None

    def action_acknowledge(self) -> None:
        incident = self._incident()
        if incident is not None:
            self.act("incident_ack", {"id": incident}, lambda r: f"incident {incident} acknowledged")

    def action_note(self) -> None:
        incident = self._incident()
        if incident is None:
            return

        def add(text: str | None) -> None:
            if text:
                self.act("incident_note", {"id": incident, "text": text}, lambda r: f"note added to {incident}")

        self.app.push_screen(Ask(f"note on incident {incident}"), add)

    def action_resolve(self) -> None:
        incident = self._incident()
        if incident is None:
            return

        def resolve(text: str | None) -> None:
            if text:
                self.act("incident_resolve", {"id": incident, "resolution": text},
                         lambda r: f"incident {incident} resolved")

        self.app.push_screen(Ask(f"resolve incident {incident}: what fixed it?"), resolve)

    def action_postmortem(self) -> None:
        incident = self._incident()
        if incident is None:
            return
        target = Path.cwd() / f"postmortem-incident-{incident}.md"

        def write(result: Any) -> str:
            target.write_text(result["markdown"], encoding="utf-8")
            return f"postmortem written to {target}"

        self.act("incident_postmortem", {"id": incident}, write)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.reload()

    def action_filter(self) -> None:
        self.ask_filter()
