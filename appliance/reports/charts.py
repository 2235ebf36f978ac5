"""Charts as inline SVG text, for reports that open anywhere without a network or a script: a time
series (lines, or bars), and a histogram comparing reference and current shares per bin.

Each chart is one `<svg>` element with `data-chart` naming it, a `<title>` for screen readers, and
the numbers it draws in `<title>` tooltips on its marks. A time chart also names its axis
(`data-axis-start`, `data-axis-end`, ISO times); when that axis is only part of the report's window
(appliance/reports/zoom.py) a note under it says so, and alias moves outside the axis are drawn at
the edge they lie beyond (a dashed line with an arrow, its tooltip giving the real time), so no move
silently disappears or seems to happen at the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Callable, Sequence

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 68, 16, 30, 40
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")
REFERENCE = "#9ca3af"
MAX_BINS = 16


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float | None]]  # None: a gap


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _frame(name: str, title: str, y_max: float, y_format: Callable[[float], str], y_label: str,
           plot_h: float = HEIGHT - TOP - BOTTOM, attributes: str = "") -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(name)}"{attributes} '
             f'role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>']
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(y_format(value))}'
                     "</text>")
    if y_label:
        parts.append(f'<text x="12" y="{TOP + plot_h / 2:.1f}" class="axis-label" text-anchor="middle" '
                     f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" class="axis"/>')
    return parts


_TICK_STEPS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 180, 360, 720, 1440, 2880, 10080, 43200))


def _time_ticks(start: datetime, end: datetime, x: Callable[[datetime], float]) -> list[str]:
    """Labels at whole steps (minutes, hours, UTC midnights), at most 8 of them."""
    span = end - start
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    fmt = "%H:%M" if span <= timedelta(days=1) else "%m-%d %H:%M" if step < timedelta(days=1) else "%m-%d"
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    at = epoch + step * math.ceil((start - epoch) / step)
    parts = []
    while at <= end:
        parts.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 4}" '
                     'class="axis"/>')
        parts.append(f'<text x="{x(at):.1f}" y="{HEIGHT - BOTTOM + 16}" class="tick" text-anchor="middle">'
                     f"{at:{fmt}}</text>")
        at += step
    return parts


def time_chart(name: str, title: str, series: Sequence[Series], start: datetime, end: datetime, *,
               bars: bool = False, y_label: str = "", y_format: Callable[[float], str] = _number,
               y_max: float | None = None, step: timedelta | None = None,
               markers: Sequence[tuple[datetime, str]] = (), note: str = "") -> str:
    """Lines (or, with `bars`, columns of the first series, each `step` wide) over [start, end);
    `markers` are labelled vertical lines (deployments), those outside [start, end] drawn at its edge;
    `note` is written under the axis (what a zoomed axis shows)."""
    values = [v for s in series for _, v in s.points if v is not None]
    top = y_max if y_max is not None else _nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    total = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - start).total_seconds() / total, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(max(value / top, 0.0), 1.0)

    axis = f' data-axis-start="{start:%Y-%m-%dT%H:%M:%S}" data-axis-end="{end:%Y-%m-%dT%H:%M:%S}"'
    parts = _frame(name, title, top, y_format, y_label, attributes=axis)
    parts += _time_ticks(start, end, x)
    parts += _markers(markers, start, end, x)
    if note:
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" class="zoom-note" text-anchor="end">'
                     f"{escape(note)}</text>")
    for index, s in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        if bars:
            width = max(plot_w * (step or timedelta(0)).total_seconds() / total - 1, 1.0)
            for at, value in s.points:
                if value is None:
                    continue
                parts.append(f'<rect x="{x(at):.1f}" y="{y(value):.1f}" width="{width:.1f}" '
                             f'height="{TOP + plot_h - y(value):.1f}" fill="{colour}" class="mark">'
                             f"<title>{at:%Y-%m-%d %H:%M} {escape(s.name)}: {escape(y_format(value))}</title></rect>")
        else:
            runs: list[list[str]] = [[]]
            for at, value in s.points:
                if value is None:
                    runs.append([])
                else:
                    runs[-1].append(f"{x(at):.1f},{y(value):.1f}")
            for run in runs:
                if len(run) == 1:
                    cx, cy = run[0].split(",")
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}" class="mark"/>')
                elif run:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                 'stroke-width="1.8" class="mark"/>')
        parts.append(_legend_entry(len(series) - index, s.name, colour))
    parts.append("</svg>")
    return "\n".join(parts)


def _markers(markers: Sequence[tuple[datetime, str]], start: datetime, end: datetime,
             x: Callable[[datetime], float]) -> list[str]:
    """Dashed vertical lines at the markers' times; one before `start` or after `end` sits on that edge
    with an arrow pointing out of the axis, and says when it happened."""
    parts = []
    for at, label in markers:
        outside = "before" if at < start else "after" if at > end else ""
        where = x(at)
        tip = f"{label} (at {at:%Y-%m-%d %H:%M}, {outside} this axis)" if outside else label
        parts.append(f'<line x1="{where:.1f}" x2="{where:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                     f'class="marker{" marker-outside" if outside else ""}"><title>{escape(tip)}</title></line>')
        if outside:
            arrow, anchor = ("◂", "start") if outside == "before" else ("▸", "end")
            parts.append(f'<text x="{where:.1f}" y="{TOP + 10}" class="marker-edge" text-anchor="{anchor}" '
                         f'data-outside="{outside}">{arrow}<title>{escape(tip)}</title></text>')
    return parts


def _legend_entry(from_right: int, name: str, colour: str) -> str:
    x = WIDTH - RIGHT - 110 * from_right
    return (f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="17" class="legend">{escape(name)}</text>')


def histogram(name: str, title: str, labels: Sequence[str], reference: Sequence[float],
              current: Sequence[float]) -> str:
    """Reference and current share per bin, side by side; past MAX_BINS bins the smallest are merged
    into '(other)'."""
    labels, reference, current = _fold(list(labels), list(reference), list(current))
    top = _nice_max(max([*reference, *current], default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 30
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.38, 1.0)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(max(value / top, 0.0), 1.0)

    parts = _frame(name, title, top, lambda v: f"{v:.0%}" if top >= 0.1 else f"{v:.1%}", "share of rows", plot_h)
    for i, label in enumerate(labels):
        left = LEFT + slot * i + slot * 0.1
        for offset, value, colour, which in ((0.0, reference[i], REFERENCE, "reference"),
                                             (bar, current[i], PALETTE[0], "current")):
            parts.append(f'<rect x="{left + offset:.1f}" y="{y(value):.1f}" width="{bar:.1f}" '
                         f'height="{TOP + plot_h - y(value):.1f}" fill="{colour}" class="mark">'
                         f"<title>{escape(label)} {which}: {value:.2%}</title></rect>")
        cx, cy = LEFT + slot * (i + 0.5), TOP + plot_h + 12
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" class="tick" text-anchor="end" '
                     f'transform="rotate(-30 {cx:.1f} {cy:.1f})">{escape(short)}</text>')
    parts.append(_legend_entry(2, "reference", REFERENCE))
    parts.append(_legend_entry(1, "current", PALETTE[0]))
    parts.append("</svg>")
    return "\n".join(parts)


def _fold(labels: list[str], reference: list[float], current: list[float]) -> tuple[list[str], list[float], list[float]]:
    if len(labels) <= MAX_BINS:
        return labels, reference, current
    order = sorted(range(len(labels)), key=lambda i: -max(reference[i], current[i]))
    keep = sorted(order[:MAX_BINS - 1])
    rest = order[MAX_BINS - 1:]
    return ([labels[i] for i in keep] + ["(other)"], [reference[i] for i in keep] + [sum(reference[i] for i in rest)],
            [current[i] for i in keep] + [sum(current[i] for i in rest)])
