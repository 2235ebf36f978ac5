"""Overview: every model with its aliases, traffic, latency, errors, worst drift and open alerts."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label, Sparkline

from tui.base import DataScreen, refill, selected_key
from tui.format import number, verdict
from tui.header import StatusBar


def _alias(aliases: list[dict[str, Any]], name: str) -> str:
    found = next((a for a in aliases if a["alias"] == name), None)
    if found is None:
        return "-"
    percent = found.get("traffic_percent")
    return f"v{found['version']}" + (f" {percent:g}%" if name == "canary" and percent else "")


class OverviewScreen(DataScreen):
    BINDINGS = [
        Binding("enter", "open_model", "open"),
        Binding("d", "drift", "drift"),
        Binding("R", "rollback", "rollback"),
        Binding("slash", "filter", "filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Models — last hour", classes="section")
        table: DataTable[Any] = DataTable(id="models", cursor_type="row", zebra_stripes=True)
        table.add_columns("model", "champion", "canary", "req/s", "p95 ms", "err", "worst drift", "alerts")
        yield table
        yield Label("", id="spark-label", classes="section")
        yield Sparkline([], id="spark")
        yield Footer()

    def fetch(self) -> Any:
        return self.call("overview")

    def show(self, data: Any) -> None:
        table = self.query_one("#models", DataTable)
        models = [m for m in data["models"] if self.filter_text.lower() in m["name"].lower()]
        self.models = {m["name"]: m for m in models}
        rows = []
        for m in models:
            worst = m["worst_drift"]
            drift = verdict(worst["verdict"], f"{worst['feature'][:10]} {worst['psi']:.2f} {worst['verdict'][:4]}") \
                if worst else "-"
            alerts = m["open_alerts"]
            alert_text = " ".join(f"{n} {s[:4]}" for s, n in sorted(alerts.items())) or "0"
            rows.append((m["name"], [
                m["name"], _alias(m["aliases"], "champion"), _alias(m["aliases"], "canary"),
                number(m["requests_per_s"], 1), number(m["p95_ms"], 1), f"{m['error_rate']:.0%}", drift, alert_text,
            ]))
        refill(table, rows)
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
        shadow = _alias(model["aliases"], "shadow")
        label.update(f"{model['name']}: requests/min, last hour: {model['requests_last_hour']} answered, "
                     f"{model['rejected_last_hour']} rejected" + (f"; shadow {shadow}" if shadow != "-" else ""))
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

    def action_filter(self) -> None:
        self.ask_filter()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_model()
