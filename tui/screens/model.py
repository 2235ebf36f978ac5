"""Model: its versions; for the selected one its lineage, metrics overall and per segment, gate
evidence, deployments and model card."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Markdown, Static

from appliance.training.metric_groups import metric_lines
from tui.base import DataScreen, refill, selected_key
from tui.format import escaped, number, plain, shown, version, when
from tui.header import StatusBar


def _origin(d: dict[str, Any]) -> str:
    imported = d.get("imported_from") or {}
    if "box" in imported:
        return (f"imported from {imported['box']}'s v{imported['original_version']} in a bundle signed by "
                f"{imported['signer']} (key {imported['key_id']}), exported {when(imported['exported_at'])}")
    if imported:
        return f"imported from the file {imported.get('file')} ({imported.get('format')})"
    return f"trained here{' (retrain: ' + d['retrain_trigger'] + ')' if d.get('retrain_trigger') else ''}"


def _metrics(d: dict[str, Any]) -> list[str]:
    """The holdout metrics: one line, or for a multiclass version the overall values, precision and
    recall per class and the confusion matrix, one class a line."""
    found = metric_lines(dict(sorted(d["metrics"].items())), d.get("classes"), number)
    return ["metrics: " + found[0], *("  " + line for line in found[1:])]


class ModelScreen(DataScreen):
    BINDINGS = [
        Binding("R", "rollback", "rollback", tooltip="roll this model's champion back (asks y/n, then why)"),
        Binding("d", "drift", "drift", tooltip="this model's drift per feature and segment"),
        Binding("escape", "back", "back"),
    ]
    FILTERED = ("versions",)

    def __init__(self, model_name: str) -> None:
        super().__init__()
        self.model_name = model_name
        self.details: dict[str, Any] | None = None
        self.chosen: int | None = None  # the version under the cursor (set on the UI thread)

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label(f"Model {self.model_name}", classes="section", id="title")
        table: DataTable[Any] = DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        table.add_columns("version", "aliases", "metric", "origin", "estimator", "created", "by")
        yield table
        with VerticalScroll(id="details"):
            yield Static("", id="lineage")
            yield Static("", id="evidence")
            yield Markdown("", id="card", open_links=False)  # a card quotes anyone's text: no link opens
        yield Footer()

    def fetch(self) -> Any:
        versions = self.call("versions", {"name": self.model_name})
        number_ = self.chosen or (max(v["version"] for v in versions) if versions else None)
        details = self.call("show", {"name": self.model_name, "version": number_}) if number_ else None
        return {"versions": versions, "details": details}

    def show(self, data: Any) -> None:
        table = self.query_one("#versions", DataTable)
        rows = []
        for v in sorted(data["versions"], key=lambda v: -v["version"]):
            rows.append((str(v["version"]), [version(v["version"]), v["aliases"] or "", number(v["primary_metric"]),
                                             v["origin"],
                                             str(v["estimator"]).rsplit(".", 1)[-1], when(v["created_at"]),
                                             v["created_by"]]))
        refill(table, rows)
        if data["details"] is not None:
            self._details(data["details"])
            self.query_one("#title", Label).update(shown(
                f"Model {self.model_name}  ·  owner {data['details'].get('owner') or 'none (vigil doctor)'}"))

    def _details(self, d: dict[str, Any]) -> None:
        self.details = d
        snap = d["snapshot"]
        lines = [
            f"{', '.join(d['aliases']) or 'no alias'}  · {d['origin']} by {d['created_by']} "
            f"at {when(d['created_at'])}  · parent {version(d['parent_version'])}",
            f"reason: {d['reason'] or '-'}",
            f"data: snapshot {snap['id'][:12]} ({snap['rows']} rows, {when(snap['time_min'])} – "
            f"{when(snap['time_max'])}) from {snap['source']}",
            f"spec: {d['spec_sha256'][:12]}  git {str(d['spec_git_commit'] or '-')[:10]}"
            f"{' (dirty)' if d['spec_git_dirty'] else ''}  · artifact {d['artifact_sha256'][:12]}",
            _origin(d),
            f"cost: {d['cost_summary']}",
            *_metrics(d),
        ]
        comparison = d.get("comparison")
        if comparison and comparison.get("champion_version") is not None:
            lines.append(f"vs champion v{comparison.get('champion_version')}: difference "
                         f"{number(comparison.get('difference'))} [{number(comparison.get('ci_low'))}, "
                         f"{number(comparison.get('ci_high'))}] → {comparison.get('status')}")
        ranked = [i for i in d.get("feature_importance", []) if i["importance"] is not None][:5]
        if ranked:
            lines.append("importance: " + ", ".join(f"{i['feature']} {i['importance']:.3f}" for i in ranked)
                         + f" ({ranked[0]['metric']} drop when shuffled)")
        gaps = [f for f in d.get("fairness", []) if f["group_value"] is None and f["value"] is not None]
        if gaps:
            lines.append("fairness: " + "; ".join(f"{g['attribute']} {g['metric'].replace('_', ' ')} {g['value']:.3f}"
                                                  for g in gaps))
        primary = {"binary": "roc_auc", "regression": "mae", "multiclass": "log_loss"}.get(d.get("task", ""), "roc_auc")
        worst = sorted((m for m in d["segment_metrics"] if m["metric"] == primary and m["value"] is not None),
                       key=lambda m: m["value"] if m["metric"] == "roc_auc" else -m["value"])[:5]
        if worst:
            lines.append("weakest segments: " + "; ".join(
                f"{m['segment_column']}={m['segment_value']} {m['metric']} {number(m['value'])}" for m in worst))
        # stored text (reasons, feature and file names, gate details) inside markup reads as written
        self.query_one("#lineage", Static).update(f"[b]v{d['version']}[/b]  " + escaped("\n".join(lines)))
        evidence = []
        for request in d.get("promotion_requests", []):
            evidence.append(f"[b]request {request['request_id']}[/b] → " + escaped(
                f"{request['alias']}: {request['status']} (by {request['requested_by']}; "
                f"{request['decision'] or 'undecided'})"))
            for g in request["gates"]:
                mark = "ok  " if g["passed"] else "FAIL"
                evidence.append(escaped(f"  {mark} {g['gate']}: {g['detail']}"))
        deployments = [dep for dep in d["deployments"]][-8:]
        if deployments:
            evidence.append("[b]deployments[/b] (latest last)")
            for dep in deployments:
                moved = f"{version(dep['from_version'])} → {version(dep['to_version'])}"
                evidence.append(escaped(f"  {when(dep['changed_at'])} {dep['alias']} {moved} by {dep['actor']}: "
                                        f"{dep['reason']}"))
        self.query_one("#evidence", Static).update("\n".join(evidence) or "no promotion requests yet")
        self.query_one("#card", Markdown).update(plain(d["model_card"]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = selected_key(event.data_table)
        self.chosen = int(key) if key else None
        if self.details is None or str(self.details["version"]) != key:
            self.reload()

    def action_rollback(self) -> None:
        self.vigil.start_rollback(self, self.model_name)

    def action_drift(self) -> None:
        self.vigil.open_drift(self.model_name)

    def action_back(self) -> None:
        self.vigil.action_go_back()
