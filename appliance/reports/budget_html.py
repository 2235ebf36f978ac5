"""A report's error budget section: each objective at the window's end (as `vigil slo` shows it), the
budget left over its rolling window at every step of the report's window, and the burn rate per step."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any

from appliance.monitoring.slo_math import PAIRS, describe_span, threshold
from appliance.reports.charts import Series, time_chart
from appliance.reports.markup import empty

EXPLAINED = ("Each objective allows a share of bad events over its window (its error budget: 1 - target). The first "
             "chart is the share of that budget left over the window ending at each point (below 0: overspent, drawn "
             "at 0); the second is the burn rate within each step (1 spends the budget exactly over the window).")


def _paging(objectives: list[dict[str, Any]]) -> str:
    """Where the burn-rate alerts page, for each objective window shown."""
    windows = sorted({timedelta(seconds=o["window"]) for o in objectives if o["kind"] == "requests"})
    return " ".join(f"For a {describe_span(w)} objective the burn-rate alerts page above "
                    f"{threshold(PAIRS[0], w):g} over an hour and {threshold(PAIRS[1], w):g} over six hours."
                    for w in windows)


def budget_section(c: dict[str, Any]) -> str:
    parts = ["<h2>Error budgets</h2>"]
    slo = c.get("slo")
    if not slo or not slo["now"]["objectives"]:
        return "\n".join(parts + [empty("No service level objective applies to this model.")])
    parts.append(f"<p>{escape(EXPLAINED + ' ' + _paging(slo['now']['objectives']))}</p>")
    parts.append(_table(slo["now"]["objectives"]))
    history = slo["history"]
    step = describe_span(timedelta(seconds=history["step"]))
    start, end = c["window_start"], c["window_end"]
    left = [Series(o["objective"], [(p["at"], None if p["budget_left"] is None else 100 * max(p["budget_left"], 0.0))
                                    for p in o["points"]]) for o in history["objectives"]]
    parts.append(time_chart("budget", "Error budget left over each objective's window (%)", left, start, end,
                            y_max=100.0, y_label="% left", y_format=lambda v: f"{v:.0f}%"))
    burn = [Series(o["objective"], [(p["at"], p["burn_rate"]) for p in o["points"]]) for o in history["objectives"]]
    parts.append(time_chart("burn", f"Burn rate per {step} (1 = the budget spent exactly over the window)", burn,
                            start, end, y_label="burn rate"))
    return "\n".join(parts)


def _table(objectives: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("objective", "target", "window", "now", "good / total", "budget left",
                                              "burn rate", "runs out in"))
    rows = []
    for o in objectives:
        left = o["budget_left"]
        css = "critical" if left is not None and left <= 0 else "warning" if left is not None and left < 0.25 else ""
        cells = [o["objective"], f"{o['target']:.4g}", describe_span(timedelta(seconds=o["window"])),
                 _share(o["value"]), f"{o['good']:,} / {o['total']:,}", _share(left),
                 "-" if o["burn_rate"] is None else f"{o['burn_rate']:.3g}", _runs_out(o)]
        opening = ["<td>"] * len(cells)
        if css:
            opening[5] = f'<td class="{css}">'
        rows.append("<tr>" + "".join(f"{o}{escape(str(v))}</td>" for o, v in zip(opening, cells)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _runs_out(objective: dict[str, Any]) -> str:
    seconds = objective["exhausted_in"]
    if seconds is not None and seconds <= 0:
        return "spent"
    if objective["burn_rate"] is None:
        return "-" if objective["budget_left"] is None else "too few events now"
    return "not being spent" if seconds is None else describe_span(timedelta(seconds=seconds))


