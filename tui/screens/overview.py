"""Overview: every model with its aliases, traffic, latency, errors, worst drift, open alerts, the error
budget its least-funded objective has left, and its owner."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label, Sparkline

from tui.base import DataScreen, selected_key
from tui.columns import Column, fit_table, hidden_note
from tui.format import alert_counts, budget, number, owner, shown, sparkline, verdict
from tui.header import StatusBar


def _alias(aliases: list[dict[str, Any]], name: str) -> str:
    found = next((a for a in aliases if a["alias"] == name), None)
    if found is None:
        return "-"
    percent = found.get("traffic_percent")
    return f"v{found['version']}" + (f" {percent:g}%" if name == "canary" and percent else "")


SPARK = 30
# Narrow terminals drop columns by priority (tui/columns.py): empty canary/shadow columns first, then
# the sparkline, the owner, traffic and latency, so drift, alerts and the budget stay in view beside the
# champion.
COLUMNS = (Column("model", "model"), Column("champ", "champ"), Column("canary", "canary", 4),
           Column("shadow", "shadow", 4), Column("req/s", "req/s", 3), Column("p95ms", "p95ms", 3),
           Column("err", "err", 2), Column("drift", "worst drift"), Column("alerts", "alerts"),
           Column("budget", "budget left", 2), Column("owner", "owner", 4, cap=24), Column("spark", "requests/min", 5))


class OverviewScreen(DataScreen):
    BINDINGS = [
        Binding("enter", "open_model", "open", tooltip="the selected model: versions, lineage, evidence"),
        Binding("d", "drift", "drift", tooltip="the selected model's drift per feature and segment"),
        Binding("R", "rollback", "rollback", tooltip="roll the selected model's champion back (asks y/n, then why)"),
    ]
    FILTERED = ("models",)

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Models — last hour", classes="section", id="models-title")
        yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Label("", id="spark-label", classes="section")
        yield Sparkline([], id="spark")
        yield Footer()

    def fetch(self) -> Any:
        return self.call("overview")

    def show(self, data: Any) -> None:
        table = self.query_one("#models", DataTable)
        self.models = {m["name"]: m for m in data["models"]}
        rows = []
        for m in data["models"]:
            worst = m["worst_drift"]
            drift = verdict(worst["verdict"], f"{worst['feature'][:8]} {worst['psi']:.2f} {worst['verdict'][:4]}") \
                if worst else "-"
            rows.append((m["name"], [m["name"][:14], _alias(m["aliases"], "champion"), _alias(m["aliases"], "canary"),
                                     _alias(m["aliases"], "shadow"), number(m["requests_per_s"], 1),
                                     number(m["p95_ms"], 1), f"{m['error_rate']:.0%}", drift,
                                     alert_counts(m["open_alerts"]), budget(m["budget"]), owner(m["owner"]),
                                     sparkline(m["requests_per_minute"], SPARK)]))
        hidden = fit_table(table, COLUMNS, rows)
        self.query_one("#models-title", Label).update(f"Models — last hour{hidden_note(hidden)}")
        self._show_spark()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_spark()

    def _show_spark(self) -> None:
        name = selected_key(self.query_one("#models", DataTable))
        model = self.models.get(name or "")
        label = self.query_one("#spark-label", Label)
        spark = self.query_one("#spark", Sparkline)
        if model is None:
            label.update("no models yet: train one with `vigil train --spec FILE`" if not self.models else "")
            spark.data = []
            return
        label.update(shown(f"{model['name']}: requests/min, last hour: {model['requests_last_hour']} answered, "
                     f"{model['rejected_last_hour']} rejected  ·  owner {model['owner'] or 'none (vigil doctor)'}"))
        spark.data = [float(v) for v in model["requests_per_minute"]]

    def _selected(self) -> str | None:
        name = selected_key(self.query_one("#models", DataTable))
        if name is None:
            self.notify("no model selected", severity="warning")
        return name

    def action_open_model(self) -> None:
        name = self._selected()
        if name:
            self.vigil.open_model(name)

    def action_drift(self) -> None:
        name = self._selected()
        if name:
            self.vigil.open_drift(name)

    def action_rollback(self) -> None:
        name = self._selected()
        if name:
            self.vigil.start_rollback(self, name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_model()
