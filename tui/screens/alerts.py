"""Alerts and incidents: acknowledge, resolve, add a note, export a postmortem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, selected_key
from tui.columns import Column, fit_table, hidden_note
from tui.dialogs import Ask, ConfirmLine
from tui.format import number, owner, verdict, when, worst_severity
from tui.header import StatusBar

INCIDENT_COLUMNS = (Column("id", "id"), Column("status", "status"), Column("severity", "severity"),
                    Column("model", "model", 2), Column("title", "title", cap=24), Column("opened", "opened", 3),
                    Column("acked", "acked by", 4), Column("owner", "owner", 5, cap=20))
ALERT_COLUMNS = (Column("id", "id"), Column("status", "status", 3), Column("severity", "severity"),
                 Column("model", "model", 2), Column("rule", "rule", cap=16), Column("subject", "subject", 2, cap=16),
                 Column("value", "value", 4), Column("opened", "opened", 3), Column("incident", "incident", 2),
                 Column("owner", "owner", 5, cap=20))


class AlertsScreen(DataScreen):
    BINDINGS = [
        Binding("a", "acknowledge", "ack", tooltip="acknowledge the selected incident (y/n on one line)"),
        Binding("n", "note", "note", tooltip="add a note to the selected incident"),
        Binding("S", "resolve", "resolve", tooltip="resolve the selected incident (asks what fixed it)"),
        Binding("e", "postmortem", "postmortem", tooltip="write postmortem-incident-ID.md in the current directory"),
        Binding("v", "toggle_all", "all/open", tooltip="view all incidents and alerts / only open ones"),
    ]
    FILTERED = ("incidents", "alerts")

    def __init__(self) -> None:
        super().__init__()
        self.show_all = False
        self.alert_rows: dict[str, dict[str, Any]] = {}  # the alerts shown, by id (for enter)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Incidents", classes="section", id="incidents-title")
        yield DataTable(id="incidents", cursor_type="row", zebra_stripes=True)
        yield Label("Alerts", classes="section", id="alerts-title")
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def fetch(self) -> Any:
        return {"alerts": self.call("alerts", {"all": self.show_all}),
                "incidents": self.call("incidents", {"all": self.show_all})}

    def show(self, data: Any) -> None:
        incident_rows = data["incidents"]["incidents"]
        alerts = data["alerts"]["alerts"]
        self.vigil.incident_ids = [str(i["incident_id"]) for i in incident_rows]
        hidden = fit_table(self.query_one("#incidents", DataTable), INCIDENT_COLUMNS, [
            (str(i["incident_id"]), [i["incident_id"], i["status"],
                                     verdict(worst_severity(a["severity"] for a in alerts
                                                            if a["incident_id"] == i["incident_id"])),
                                     i["model_name"], i["title"], when(i["opened_at"]), i.get("acknowledged_by") or "",
                                     owner(i.get("owner"))])
            for i in incident_rows])
        self.alert_rows = {str(a["alert_id"]): a for a in data["alerts"]["alerts"]}
        hidden_alerts = fit_table(self.query_one("#alerts", DataTable), ALERT_COLUMNS, [
            (str(a["alert_id"]), [a["alert_id"], a["status"], verdict(a["severity"]), a["model_name"], a["rule"],
                                  a["subject"], number(a["value"]), when(a["opened_at"]), a["incident_id"] or "",
                                  owner(a.get("owner"))])
            for a in alerts])
        scope = "all" if self.show_all else "open"
        self.query_one("#incidents-title", Label).update(f"Incidents ({scope}; a ack, n note, S resolve, "
                                                         f"e postmortem{hidden_note(hidden)})")
        self.query_one("#alerts-title", Label).update(f"Alerts ({scope}; v shows {'open' if self.show_all else 'all'}"
                                                      f"{hidden_note(hidden_alerts)})")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`enter` drills in: an incident row (or an alert that joined one) opens its incident's screen;
        an alert without an incident opens the alert in full."""
        key = None if event.row_key.value is None else str(event.row_key.value)
        if key is None:
            return
        if event.data_table.id == "incidents":
            self.vigil.open_incident(int(key))
            return
        alert = self.alert_rows.get(key)
        if alert is None:
            return
        if alert["incident_id"]:
            self.vigil.open_incident(int(alert["incident_id"]))
        else:
            from tui.text_view import TextView

            self.app.push_screen(TextView(f"alert {key}: {alert['rule']} on {alert['model_name']}", alert_text(alert)))

    def _incident(self) -> int | None:
        key = selected_key(self.query_one("#incidents", DataTable))
        if key is None:
            self.notify("no incident selected", severity="warning")
        return int(key) if key else None

    def action_acknowledge(self) -> None:
        incident = self._incident() if self.vigil.writable() else None
        if incident is None:
            return

        def ack(yes: bool | None) -> None:
            if yes:
                self.act("incident_ack", {"id": incident}, lambda r: f"incident {incident} acknowledged")

        self.app.push_screen(ConfirmLine(f"acknowledge incident {incident}?"), ack)

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


def alert_text(alert: dict[str, Any]) -> str:
    """An alert in full, field by field."""
    return "\n".join(f"{name}: {'' if value is None else value}" for name, value in alert.items())
