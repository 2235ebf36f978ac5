"""Incident: one incident with what the on-call engineer needs around it — the drift that opened it
(its run's worst features with verdicts; `enter` or `d` opens the model's drift screen), the
timeline (opened, alerts joined, acknowledgements, notes, deployments, resolution), its alerts, the
model's alias moves from a week before it opened until now (who, why, rollbacks marked) and the
postmortem draft. `a` acknowledges (after a one-line confirm), `R` rolls the champion back with the
reason pre-filled from the incident, `n` adds a note, `e` writes the postmortem file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static

from tui.base import DataScreen, refill
from tui.dialogs import Ask, ConfirmLine
from tui.format import bar, number, shown, verdict, version, when
from tui.header import StatusBar

PSI_FULL = 0.5  # a full bar, as on the drift screen
MOST_ROWS = 10  # a table taller than this scrolls inside the page


class IncidentScreen(DataScreen):
    DEFAULT_CSS = """
    IncidentScreen #incident-body { height: 1fr; }
    IncidentScreen #incident-body DataTable { height: 2; }
    IncidentScreen #incident-body .section { margin-top: 1; }
    IncidentScreen #postmortem { padding: 0 1; }
    """
    AUTO_FOCUS = "#drift"
    FILTERED = ("timeline", "incident-alerts", "deployments")
    BINDINGS = [
        Binding("a", "acknowledge", "ack", tooltip="acknowledge the incident (y/n on one line)"),
        Binding("R", "rollback", "rollback", tooltip="roll the champion back to the last known-good version: "
                "shows why that one, its pre-flight and its earlier traffic; y, then enter keeps the reason "
                "pre-filled from the incident"),
        Binding("d", "drift", "drift", tooltip="the model's drift screen"),
        Binding("n", "note", "note", tooltip="add a note to the timeline"),
        Binding("e", "postmortem", "postmortem", tooltip="write postmortem-incident-ID.md in the current directory"),
        Binding("escape", "back", "back"),
    ]
    HELP_LINES = (("enter", "on the drift rows: the model's drift screen"),)

    def __init__(self, incident_id: int) -> None:
        super().__init__()
        self.incident_id = incident_id
        self.incident: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label(f"Incident {self.incident_id}", classes="section", id="incident-title")
        yield Label("", id="incident-summary")
        with VerticalScroll(id="incident-body"):
            yield Label("Drift that opened it", classes="section", id="drift-title")
            yield _table("drift", "feature", "verdict", "PSI", "", "JS", "KS")
            yield Label("Timeline", classes="section")
            yield _table("timeline", "at", "kind", "who", "detail")
            yield Label("Alerts", classes="section")
            yield _table("incident-alerts", "id", "severity", "status", "rule", "subject", "value", "opened")
            yield Label("Versions and deployments", classes="section", id="deployments-title")
            yield _table("deployments", "at", "kind", "alias", "from → to", "by", "reason")
            yield Label("Postmortem draft (e writes it to a file)", classes="section")
            yield Static("", id="postmortem")
        yield Footer()

    def fetch(self) -> Any:
        return {"incident": self.call("incident_show", {"id": self.incident_id}),
                "postmortem": self.call("incident_postmortem", {"id": self.incident_id})["markdown"]}

    def show(self, data: Any) -> None:
        i = self.incident = data["incident"]
        acked = f", acknowledged by {i['acknowledged_by']}" if i.get("acknowledged_by") else ""
        self.query_one("#incident-title", Label).update(shown(
            f"Incident {i['incident_id']} [{i['status']}] {i['model_name']} — opened {when(i['opened_at'])}, "
            f"{i['minutes_open']:.0f} min {'to resolve' if i['resolved_at'] else 'so far'}{acked}  ·  owner "
            f"{i.get('owner') or 'none'}"))
        self.query_one("#incident-summary", Label).update(shown(f" {i['summary']}  ·  {i['title']}"))
        self._drift(i.get("drift"))
        _fill(self.query_one("#timeline", DataTable), [
            (str(n), [when(e["at_time"]), e["kind"], e["actor"], e["detail"]])
            for n, e in enumerate(i["timeline"])])
        _fill(self.query_one("#incident-alerts", DataTable), [
            (str(a["alert_id"]), [a["alert_id"], verdict(a["severity"]), a["status"], a["rule"], a["subject"],
                                  number(a.get("value")), when(a["opened_at"])]) for a in i["alerts"]])
        self._deployments(i)
        self.query_one("#postmortem", Static).update(shown(data["postmortem"]))

    def _drift(self, drift: dict[str, Any] | None) -> None:
        title = self.query_one("#drift-title", Label)
        if drift is None:
            title.update("Drift that opened it: no drift run before it opened (d: the model's drift screen)")
            _fill(self.query_one("#drift", DataTable), [])
            return
        run = drift["run"]
        title.update(f"Drift that opened it: run {run['run_id']} of v{run['version']}, {run['current_rows']} rows "
                     f"→ {run['verdict']} (enter or d: drift screen)")
        _fill(self.query_one("#drift", DataTable), [
            (f["feature"], [f["feature"], verdict(f["verdict"]), number(f["psi"]),
                            verdict(f["verdict"], bar(f["psi"], PSI_FULL)), number(f["js"]), number(f["ks_stat"])])
            for f in drift["features"]])

    def _deployments(self, i: dict[str, Any]) -> None:
        aliases = ", ".join(f"{alias} v{v}" for alias, v in sorted(i["aliases"].items())) or "no aliases"
        self.query_one("#deployments-title", Label).update(
            f"Versions and deployments since {when(i['deployments_since'])} (now {aliases}; R rolls back)")
        _fill(self.query_one("#deployments", DataTable), [
            (str(d["id"]), [when(d["changed_at"]), d["kind"], d["alias"],
                            f"{version(d['from_version'])} → {version(d['to_version'])}", d["actor"],
                            d["reason"]]) for d in reversed(i["deployments"])])

    # -- drill-down and actions -----------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "drift":
            self.action_drift()

    def rollback_reason(self) -> str:
        """The reason a rollback from here starts with: "incident 2: critical drift in humid, dewp"."""
        i = self.incident
        return "" if i is None else f"incident {i['incident_id']}: {i['summary']}"

    def action_drift(self) -> None:
        if self.incident is not None:
            self.vigil.open_drift(self.incident["model_name"])

    def action_rollback(self) -> None:
        if self.incident is not None:
            self.vigil.start_rollback(self, self.incident["model_name"], self.rollback_reason())

    def action_acknowledge(self) -> None:
        if self.incident is None or not self.vigil.writable():
            return
        incident = self.incident_id

        def ack(yes: bool | None) -> None:
            if yes:
                self.act("incident_ack", {"id": incident}, lambda r: f"incident {incident} acknowledged")

        self.app.push_screen(ConfirmLine(f"Acknowledge incident {incident} (you are on it)?"), ack)

    def action_note(self) -> None:
        incident = self.incident_id

        def add(text: str | None) -> None:
            if text:
                self.act("incident_note", {"id": incident, "text": text}, lambda r: f"note added to {incident}")

        self.app.push_screen(Ask(f"note on incident {incident}"), add)

    def action_postmortem(self) -> None:
        target = Path.cwd() / f"postmortem-incident-{self.incident_id}.md"

        def write(result: Any) -> str:
            target.write_text(result["markdown"], encoding="utf-8")
            return f"postmortem written to {target}"

        self.act("incident_postmortem", {"id": self.incident_id}, write)

    def action_back(self) -> None:
        self.vigil.action_go_back()


def _table(table_id: str, *columns: str) -> DataTable[Any]:
    table: DataTable[Any] = DataTable(id=table_id, cursor_type="row", zebra_stripes=True)
    table.add_columns(*columns)
    return table


def _fill(table: DataTable[Any], rows: list[tuple[str, list[Any]]]) -> None:
    """Refill a table and fit its height to its rows (at most MOST_ROWS; more scroll inside it)."""
    refill(table, rows)
    table.styles.height = 2 + max(1, min(len(rows), MOST_ROWS))  # header, rows, a horizontal scrollbar
