"""A report's multivariate drift section: the window's PCA reconstruction error against the band of
the champion's training rows, and the monitor checks' stored errors over the window with their bands."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any

from appliance.reports.charts import Series, time_chart
from appliance.reports.markup import empty
from appliance.reports.zoom import zoomed

MIN_CHART_CHECKS = 3  # fewer checks make no line worth drawing; the table shows them
TABLE_CHECKS = 12

EXPLAINED = ("PCA reconstruction error: the inputs are standardised and rebuilt from the principal components "
             "that explain 65% of the training rows' variance; the error is the mean distance between a row and its "
             "rebuilt self. It rises when features stop moving together as they did in training, even when each "
             "feature alone looks unchanged. The band is the mean of the training rows' chunks of the window's size "
             "plus and minus three of their standard deviations.")


def multivariate_section(c: dict[str, Any]) -> str:
    parts = ["<h2>Multivariate drift</h2>"]
    drift = c.get("drift") or {}
    m = drift.get("multivariate")
    if m is None:
        return "\n".join(parts + [empty("No inputs answered by the champion in the window.")])
    parts.append(f"<p>{escape(EXPLAINED)}</p>")
    parts.append(_summary(m))
    history = c.get("multivariate_history") or []
    if len(history) >= MIN_CHART_CHECKS:
        points = [(h["window_end"], h["reconstruction_error"]) for h in history]
        times = [at for at, _ in points]  # the checks' own span: zoomed when they fill a small part of the window
        span = zoomed(min(times), max(times), c["window_start"], c["window_end"], timedelta(minutes=1))
        parts.append(time_chart("multivariate", "Reconstruction error of each monitor check, with its band",
                                [Series("error", points),
                                 Series("upper", [(h["window_end"], h["upper_threshold"]) for h in history]),
                                 Series("lower", [(h["window_end"], h["lower_threshold"]) for h in history])],
                                span.start, span.end, y_label="error", note=span.note(c["window"])))
    if history:
        outside = sum(1 for h in history if h["verdict"] == "warning")
        parts.append(f"<p>{len(history)} monitor check(s) in the window, {outside} outside their band; the latest:</p>")
        parts.append(_checks(history[-TABLE_CHECKS:]))
    return "\n".join(parts)


def _checks(history: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("window end", "rows", "error", "lower", "upper", "verdict"))
    body = "".join(
        f"<tr><td>{h['window_end']:%Y-%m-%d %H:%M}</td><td class=\"num\">{h['current_rows']:,}</td>"
        f"<td class=\"num\">{_number(h['reconstruction_error'])}</td><td class=\"num\">{_number(h['lower_threshold'])}"
        f"</td><td class=\"num\">{_number(h['upper_threshold'])}</td>"
        f"<td class=\"{escape(h['verdict'])}\">{escape(h['verdict'])}</td></tr>" for h in reversed(history))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _summary(m: dict[str, Any]) -> str:
    if m["reconstruction_error"] is None or m["upper_threshold"] is None:
        note = f" ({m['note']})" if m.get("note") else " (the training rows give no band)"
        return empty(f"Inconclusive{note}.")
    lower = "none" if m["lower_threshold"] is None else f"{m['lower_threshold']:.4g}"
    return (f'<p>Window: <b>{m["reconstruction_error"]:.4g}</b> over {m["rows"]:,} rows; training band {lower} to '
            f'{m["upper_threshold"]:.4g} ({m["reference_chunks"]} chunks of {m["chunk_rows"]:,} rows; '
            f'{m["components"]} of {m["columns"]} components); {m["reconstruction_sigmas"]:.1f} standard deviations '
            f'from the band\'s centre → <span class="{escape(m["verdict"])}">{escape(m["verdict"])}</span>.</p>')

