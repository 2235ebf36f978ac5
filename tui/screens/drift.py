"""Drift: the latest drift run of a model per feature (PSI with a bar, KS, JS, missing rates, PSI
trend over recent runs) and per segment, each row marked by its verdict; above them the multivariate
PCA reconstruction error with its band, verdict and trend."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from tui.base import DataScreen, refill
from tui.format import bar, number, shown, sparkline, verdict, when
from tui.header import StatusBar

PSI_FULL = 0.5  # a full bar


class DriftScreen(DataScreen):
    BINDINGS = [Binding("escape", "back", "back")]
    FILTERED = ("features", "segments")

    def __init__(self, model_name: str) -> None:
        super().__init__()
        self.model_name = model_name

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Label(f"Drift of {self.model_name}", classes="section", id="run")
        yield Label("", id="multivariate")
        features: DataTable[Any] = DataTable(id="features", cursor_type="row", zebra_stripes=True)
        features.add_columns("feature", "verdict", "PSI", "", "KS", "JS", "missing", "trend")
        yield features
        yield Label("Per segment (worst first)", classes="section")
        segments: DataTable[Any] = DataTable(id="segments", cursor_type="row", zebra_stripes=True)
        segments.add_columns("segment", "feature", "verdict", "PSI", "", "JS")
        yield segments
        yield Footer()

    def fetch(self) -> Any:
        return self.call("drift_view", {"name": self.model_name})

    def show(self, data: Any) -> None:
        run = data["run"]
        label = self.query_one("#run", Label)
        if run is None:
            label.update(f"Drift of {self.model_name}: no drift run yet (the monitor job runs them; "
                         "or press 4 then m)")
        else:
            label.update(shown(f"Drift of {self.model_name} v{run['version']}: run {run['run_id']}, window "
                               f"{when(run['window_start'])} – {when(run['window_end'])}, {run['current_rows']} "
                               f"rows vs {run['reference']} ({run['reference_rows']}) → {run['verdict']}"))
        self.query_one("#multivariate", Label).update(multivariate_text(data.get("multivariate"),
                                                                        data.get("multivariate_trend") or []))
        rows = []
        for f in data["features"]:
            missing = "" if f["missing_ref"] is None else f"{f['missing_ref']:.1%}→{f['missing_cur']:.1%}"
            rows.append((f["feature"], [f["feature"], verdict(f["verdict"]), number(f["psi"]),
                                        verdict(f["verdict"], bar(f["psi"], PSI_FULL)), number(f["ks_stat"]),
                                        number(f["js"]), missing,
                                        sparkline(data["trends"].get(f["feature"], []), 16)]))
        refill(self.query_one("#features", DataTable), rows)
        segments = sorted(data["segments"], key=lambda s: -(s["psi"] or 0))
        refill(self.query_one("#segments", DataTable), [
            (f"{s['segment_column']}={s['segment_value']}:{s['feature']}",
             [f"{s['segment_column']}={s['segment_value']}", s["feature"], verdict(s["verdict"]), number(s["psi"]),
              verdict(s["verdict"], bar(s["psi"], PSI_FULL)), number(s["js"])]) for s in segments[:200]])

    def action_back(self) -> None:
        self.vigil.action_go_back()


def multivariate_text(m: dict[str, Any] | None, trend: list[float | None]) -> Text:
    """The latest run's PCA reconstruction error against its training band, marked by its verdict,
    with its values over recent runs."""
    if m is None:
        return Text("Multivariate (PCA reconstruction error): not measured in this run")
    if m["upper_threshold"] is None:
        return Text(f"Multivariate (PCA reconstruction error): {number(m['reconstruction_error'])}, inconclusive "
                    "(the training rows give no band)")
    lower = number(m["lower_threshold"])
    line = Text(f"Multivariate (PCA reconstruction error): {number(m['reconstruction_error'])}, training band "
                f"{lower} – {number(m['upper_threshold'])}, {number(m['reconstruction_sigmas'], 1)} sd from its "
                "centre → ")
    line.append_text(verdict(m["verdict"], "outside the band: warning" if m["verdict"] == "warning" else None))
    line.append(f"   recent runs {sparkline(trend, 16)}")
    return line
