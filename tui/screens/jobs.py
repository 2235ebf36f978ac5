"""Jobs: schedules with their next run, recent runs with errors; run a drift check or a retrain now."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill
from tui.dialogs import Ask
from tui.format import verdict, when
from tui.header import StatusBar


class JobsScreen(DataScreen):
    BINDINGS = [Binding("m", "monitor", "drift check now", tooltip="run a drift check of every served model now"),
                Binding("T", "retrain", "retrain now", tooltip="retrain a model now (asks which, and why)")]
    FILTERED = ("runs",)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Schedules", classes="section", id="schedule-title")
        schedule: DataTable[Any] = DataTable(id="schedule", cursor_type="row")
        schedule.add_columns("job", "trigger", "next run")
        yield schedule
        yield Label("Recent runs", classes="section")
        runs: DataTable[Any] = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        runs.add_columns("run", "job", "model", "trigger", "started", "status", "error")
        yield runs
        yield Footer()

    def fetch(self) -> Any:
        return {"schedule": self.call("job_schedule"), "runs": self.call("jobs", {"limit": 50})["runs"]}

    def show(self, data: Any) -> None:
        schedule = data["schedule"]
        state = "scheduler running" if schedule["running"] else "daemon down: configured schedules"
        if not schedule["enabled"]:
            state = "jobs disabled in vigil.toml ([jobs] enabled = false)"
        self.query_one("#schedule-title", Label).update(f"Schedules ({state}; m: drift check now, T: retrain now)")
        refill(self.query_one("#schedule", DataTable), [
            (j["job"], [j["job"], j["trigger"], when(j["next_run"]) or "-"]) for j in schedule["jobs"]])
        refill(self.query_one("#runs", DataTable), [
            (str(r["run_id"]), [r["run_id"], r["job"], r["model_name"] or "", r["trigger"], when(r["started_at"]),
                                verdict(r["status"]), (r["error"] or "")[:80]]) for r in data["runs"]])

    def action_monitor(self) -> None:
        self.act("monitor_run", {}, lambda r: "drift check done: " + ", ".join(
            f"{c['model']} {len(c['alerts'])} alert change(s)" for c in r["checks"]) if r["checks"] else
            "drift check done: no served models")

    def action_retrain(self) -> None:
        def ask_reason(model: str | None) -> None:
            if not model:
                return

            def go(reason: str | None) -> None:
                if reason:
                    self.act("retrain", {"name": model, "reason": reason},
                             lambda r: f"retrain of {model} queued (run {r.get('run_id', '?')})"
                             if isinstance(r, dict) else f"retrain of {model} started")

            self.app.push_screen(Ask(f"retrain {model}: why?"), go)

        self.app.push_screen(Ask("retrain which model?"), ask_reason)
