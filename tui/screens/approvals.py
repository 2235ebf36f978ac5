"""Approvals: pending promotion requests with their gate evidence, the candidate's holdout metrics
beside the champion's, and its replay on the champion's last day of logged traffic (agreement, score
shift, metric on labelled rows; information, not a gate); approve or reject with a reason (four-eyes
applies)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label


from appliance.monitoring.replay_text import replay_lines
from tui.base import DataScreen, refill, selected_key
from tui.dialogs import Ask, Confirm
from tui.format import escaped, number, shown, verdict, version, when
from tui.header import StatusBar


class ApprovalsScreen(DataScreen):
    BINDINGS = [
        Binding("A", "approve", "approve", tooltip="approve the selected request (asks y/n; four-eyes applies)"),
        Binding("X", "reject", "reject", tooltip="reject the selected request (asks why)"),
        Binding("v", "toggle_all", "all/pending", tooltip="view all requests / only pending ones"),
    ]
    FILTERED = ("requests",)

    def __init__(self) -> None:
        super().__init__()
        self.show_all = False
        self.chosen: int | None = None
        self.requests: dict[int, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label("Promotion requests (A approve, X reject, v all/pending)", classes="section", id="requests-title")
        requests: DataTable[Any] = DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        requests.add_columns("id", "model", "version", "to", "status", "by", "requested", "reason")
        yield requests
        yield Label("", classes="section", id="detail-title")
        gates: DataTable[Any] = DataTable(id="gates", cursor_type="row")
        gates.add_columns("gate", "result", "value", "limit", "detail")
        yield gates
        metrics: DataTable[Any] = DataTable(id="metrics", cursor_type="row")
        metrics.add_columns("metric", "candidate", "champion", "difference")
        yield metrics
        replay: DataTable[Any] = DataTable(id="replay", cursor_type="row")
        replay.add_columns("replay", "what the candidate would have answered on the champion's last day")
        yield replay
        yield Footer()

    def fetch(self) -> Any:
        requests = self.call("requests", {"all": self.show_all})["requests"]
        ids = [int(r["request_id"]) for r in requests]
        chosen = self.chosen if self.chosen in ids else (ids[0] if ids else None)
        detail = self.call("request_show", {"id": chosen}) if chosen is not None else None
        return {"requests": requests, "detail": detail}

    def show(self, data: Any) -> None:
        self.requests = {int(r["request_id"]): r for r in data["requests"]}
        refill(self.query_one("#requests", DataTable), [
            (str(r["request_id"]), [r["request_id"], r["model_name"], version(r["version"]), r["alias"], r["status"],
                                    r["requested_by"], when(r["requested_at"]), r["reason"]])
            for r in data["requests"]])
        detail = data["detail"]
        title = self.query_one("#detail-title", Label)
        gates = self.query_one("#gates", DataTable)
        metrics = self.query_one("#metrics", DataTable)
        if detail is None:
            title.update("no pending requests" if not self.show_all else "no requests")
            gates.clear()
            metrics.clear()
            self.query_one("#replay", DataTable).clear()
            return
        title.update(shown(f"request {detail['request_id']}: {detail['model_name']} v{detail['version']} → "
                           f"{detail['alias']} — gate evidence, and holdout metrics beside champion "
                           f"{version(detail['champion_version'])}"))
        refill(gates, [(g["gate"], [g["gate"], verdict("ok" if g["passed"] else "FAILED"), number(g["value"]),
                                    number(g["limit_value"]), g["detail"]]) for g in detail["gates"]])
        candidate, champion = detail["candidate_metrics"], detail["champion_metrics"]
        rows = []
        for name in sorted(set(candidate) | set(champion)):
            a, b = candidate.get(name), champion.get(name)
            rows.append((name, [name, number(a), number(b), number(a - b) if a is not None and b is not None else "-"]))
        refill(metrics, rows)
        refill(self.query_one("#replay", DataTable),
               [(str(i), [label, text]) for i, (label, text) in enumerate(replay_lines(detail["replay"]))])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "requests":
            return
        key = selected_key(event.data_table)
        chosen = int(key) if key else None
        if chosen != self.chosen:
            self.chosen = chosen
            self.reload()

    def _pending(self) -> dict[str, Any] | None:
        if not self.vigil.writable():
            return None
        key = selected_key(self.query_one("#requests", DataTable))
        found = self.requests.get(int(key)) if key else None
        if found is None:
            self.notify("no request selected", severity="warning")
        elif found["status"] != "pending":
            self.notify(f"request {found['request_id']} is {found['status']}, not pending", severity="warning")
            return None
        return found

    def action_approve(self) -> None:
        found = self._pending()
        if found is None:
            return
        request_id = int(found["request_id"])

        def go(yes: bool | None) -> None:
            if yes:
                self.act("approve", {"id": request_id},
                         lambda r: f"request {request_id} approved: {r['model_name']} {r['alias']} is now "
                                   f"v{r['version']}")

        self.app.push_screen(Confirm(
            f"Approve request {request_id}?",
            f"{escaped(found['model_name'])} {escaped(found['alias'])} moves to v{found['version']} at once, for every "
            f"client.\nRequested by {escaped(found['requested_by'])}: {escaped(found['reason'])}"), go)

    def action_reject(self) -> None:
        found = self._pending()
        if found is None:
            return
        request_id = int(found["request_id"])

        def go(reason: str | None) -> None:
            if reason:
                self.act("reject", {"id": request_id, "reason": reason}, lambda r: f"request {request_id} rejected")

        self.app.push_screen(Ask(f"reject request {request_id}: why?"), go)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.reload()
