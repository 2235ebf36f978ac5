"""Overview: every model with its aliases, traffic, latency, errors, worst drift and open alerts."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label, Sparkline

from tui.base import DataScreen, refill, selected_key
from tui.format import number, sparkline, verdict
from tui.header import StatusBar


def _alias(aliases: list[dict[str, Any]], name: str) -> str:
    found = next((a for a in aliases if a["alias"] == name), None)
    if found is None:
        return "-"
    percent = found.get("traffic_percent")
    return f"v{found['version']}" + (f" {percent:g}%" if name == "canary" and percent else "")


COLUMNS = ("model", "champ", "canary", "shadow", "req/s", "p95ms", "err", "worst drift", "alerts")
WIDE = 120  # columns from which the table also shows each model's requests per minute
SPARK = 30


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
        self.wide: bool | None = None  # a wide terminal also gets a sparkline column

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Models — last hour", classes="section")
        yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Label("", id="spark-label", classes="section")
        yield Sparkline([], id="spark")
        yield Footer()

    def fetch(self) -> Any:
        return self.call("overview")

    def show(self, data: Any) -> None:
        table = self.query_one("#models", DataTable)
        wide = self.app.size.width >= WIDE
        if wide != self.wide:
            self.wide = wide
            table.clear(columns=True)
            table.add_columns(*COLUMNS)
            if wide:
                table.add_column("requests/min", width=SPARK)
        models = [m for m in data["models"] if self.filter_text.lower() in m["name"].lower()]
        self.models = {m["name"]: m for m in models}
        rows = []
        for m in models:
            worst = m["worst_drift"]
            drift = verdict(worst["verdict"], f"{worst['feature'][:8]} {worst['psi']:.2f} {worst['verdict'][:4]}") \
                if worst else "-"
            alerts = m["open_alerts"]
            alert_text = " ".join(f"{n}{s[0]}" for s, n in sorted(alerts.items())) or "0"
            cells = [m["name"][:14], _alias(m["aliases"], "champion"), _alias(m["aliases"], "canary"),
                     _alias(m["aliases"], "shadow"), number(m["requests_per_s"], 1), number(m["p95_ms"], 1),
                     f"{m['error_rate']:.0%}", drift, alert_text]
            if wide:
                cells.append(sparkline(m["requests_per_minute"], SPARK))
            rows.append((m["name"], cells))
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
        label.update(f"{model['name']}: requests/min, last hour: {model['requests_last_hour']} answered, "
                     f"{model['rejected_last_hour']} rejected")
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
