"""A week's report over a burst of real traffic: its time charts zoom to the minutes that hold the
traffic, say so under the axis, and still mark every alias move of the window."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from daemon_support import Daemon, admin
from appliance.reports.zoom import MIN_SPAN

SVG_OPEN = re.compile(r'<svg [^>]*data-chart="(traffic|latency|outcomes)"[^>]*>')


def _attribute(tag: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', tag)
    assert found, (name, tag)
    return found.group(1)


def _chart(html: str, name: str) -> str:
    start = html.index(f'data-chart="{name}"')
    return html[html.rindex("<svg", 0, start):html.index("</svg>", start)]


def test_a_burst_in_a_week_is_drawn_across_the_chart_with_a_note(daemon: Daemon,
                                                                 sample_records: list[dict[str, Any]]) -> None:
    answers = [daemon.post("/v1/models/delay/predict", {"records": sample_records[i:i + 10]})[1] for i in (0, 10, 20)]
    assert admin(daemon, "promote", {"name": "delay", "version": 2, "alias": "shadow", "reason": "burst"})
    for i in (30, 40):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[i:i + 10]})[0] == 200
    labels = [{"request_id": a["request_id"], "row_index": r, "label": bool(r % 2)} for a in answers for r in range(10)]
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[0] == 200
    out = daemon.home / "exports" / "week.html"
    made = admin(daemon, "report", {"name": "delay", "window": "7d", "out": str(out)})
    html = out.read_text()

    logged = admin(daemon, "sql", {"query": "SELECT min(logged_at), max(logged_at) FROM prediction_log"})["rows"][0]
    first, last = (datetime.fromisoformat(str(t)).replace(second=0, microsecond=0) for t in logged)
    window_end = datetime.fromisoformat(str(made["window_end"]))
    # One-minute buckets around the burst, at least ten minutes wide; a burst that ends at the window's
    # end (it is "now") is widened back from there.
    axis_start, axis_end = first, min(max(last + timedelta(minutes=1), first + MIN_SPAN), window_end)
    if axis_end - axis_start < MIN_SPAN:
        axis_start = (window_end - MIN_SPAN).replace(second=0, microsecond=0)
    same_day = axis_start.date() == (axis_end - timedelta(microseconds=1)).date()
    shape = "%H:%M" if same_day else "%m-%d %H:%M"
    note = f"zoomed to {axis_start:{shape}}–{axis_end:{shape}} of the 7-day window"
    charts = {name: _chart(html, name) for name in ("traffic", "latency", "outcomes")}
    for name, svg in charts.items():
        tag = SVG_OPEN.search(svg)
        assert tag, name
        assert (_attribute(tag.group(0), "data-axis-start"), _attribute(tag.group(0), "data-axis-end")) == (
            f"{axis_start:%Y-%m-%dT%H:%M:%S}", f"{axis_end:%Y-%m-%dT%H:%M:%S}"), name
        assert f'class="zoom-note" text-anchor="end">{note}</text>' in svg, name
    assert "Requests per 1m" in charts["traffic"]
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"[^>]*class="mark"', charts["traffic"])]
    assert widths and min(widths) > 40  # one-minute bars on a ten-minute axis, not a sliver of a week
    assert (axis_end - axis_start) <= MIN_SPAN + timedelta(minutes=1)

    moves = admin(daemon, "sql", {"query": "SELECT happened_at, alias FROM version_releases WHERE kind = 'deployment' "
                                           "AND model_name = 'delay' ORDER BY 1"})["rows"]  # all made this week
    markers = re.findall(r'<line [^>]*class="(marker[^"]*)"><title>([^<]*)</title>', charts["traffic"])
    assert len(markers) == len(moves) and [m[1].split(":")[0] for m in markers] == [alias for _, alias in moves]
    for (css, title), (at, _) in zip(markers, moves):
        before = datetime.fromisoformat(str(at)) < axis_start
        assert (css == "marker marker-outside") == before, (css, title, at)
        assert title.endswith("before this axis)") == before
    assert markers[-1][0] == "marker" and markers[-1][1].startswith("shadow:")  # made amid the burst: on the axis
