"""A report's time axis zooms to the span that holds data, says so, and keeps alias moves outside that
span marked at its edges."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from appliance.reports.charts import HEIGHT, LEFT, RIGHT, WIDTH, Series, time_chart
from appliance.reports.zoom import MIN_SPAN, Span, window_words, zoomed

SVG = "{http://www.w3.org/2000/svg}"
WEEK_START, WEEK_END = datetime(2026, 11, 15, 12, 0), datetime(2026, 11, 22, 12, 0)


def test_a_burst_in_a_week_zooms_to_its_minutes() -> None:
    span = zoomed(datetime(2026, 11, 20, 14, 2), datetime(2026, 11, 20, 14, 40), WEEK_START, WEEK_END,
                  timedelta(minutes=1))
    assert span == Span(datetime(2026, 11, 20, 14, 2), datetime(2026, 11, 20, 14, 41), zoomed=True)
    assert span.note("7d") == "zoomed to 14:02–14:41 of the 7-day window"


def test_bounds_are_whole_buckets_and_never_narrower_than_ten_minutes() -> None:
    one_minute = zoomed(datetime(2026, 11, 20, 14, 7), datetime(2026, 11, 20, 14, 7), WEEK_START, WEEK_END,
                        timedelta(minutes=1))
    assert (one_minute.start, one_minute.end - one_minute.start) == (datetime(2026, 11, 20, 14, 7), MIN_SPAN)
    two_days = zoomed(datetime(2026, 11, 3, 9, 7), datetime(2026, 11, 5, 8, 59), datetime(2026, 10, 23, 12, 0),
                      datetime(2026, 11, 22, 12, 0), timedelta(minutes=15))
    assert (two_days.start, two_days.end) == (datetime(2026, 11, 3, 9, 0), datetime(2026, 11, 5, 9, 0))
    assert two_days.note("30d") == "zoomed to 11-03 09:00–11-05 09:00 of the 30-day window"


@pytest.mark.parametrize("first, last", [(datetime(2026, 11, 15, 12, 0), datetime(2026, 11, 22, 11, 59)),
                                         (datetime(2026, 11, 16, 0, 0), datetime(2026, 11, 19, 12, 0))])
def test_data_over_half_the_window_or_more_keeps_the_window(first: datetime, last: datetime) -> None:
    span = zoomed(first, last, WEEK_START, WEEK_END, timedelta(hours=1))
    assert span == Span(WEEK_START, WEEK_END) and span.note("7d") == ""


def test_window_words() -> None:
    assert [window_words(w) for w in ("7d", "24h", "90m", "2w", "forever")] == [
        "7-day", "24-hour", "90-minute", "2-week", "forever"]


def test_a_zoomed_chart_names_its_axis_and_marks_moves_outside_it_at_its_edges() -> None:
    start, end = datetime(2026, 11, 20, 14, 2), datetime(2026, 11, 20, 14, 41)
    points = [(start + timedelta(minutes=m), 3.0) for m in range(0, 39, 2)]
    moves = [(datetime(2026, 11, 18, 9, 14), "champion: v1 -> v2"), (start + timedelta(minutes=13), "shadow: v3"),
             (datetime(2026, 11, 21, 8, 0), "champion: v2 -> v1")]
    svg = ET.fromstring(time_chart("traffic", "Requests per 1m", [Series("requests", points)], start, end, bars=True,
                                   step=timedelta(minutes=1), markers=moves,
                                   note="zoomed to 14:02–14:41 of the 7-day window"))
    assert (svg.get("data-axis-start"), svg.get("data-axis-end")) == ("2026-11-20T14:02:00", "2026-11-20T14:41:00")
    note = [e for e in svg.iter(f"{SVG}text") if e.get("class") == "zoom-note"]
    assert [e.text for e in note] == ["zoomed to 14:02–14:41 of the 7-day window"]
    bars = [e for e in svg.iter(f"{SVG}rect") if e.get("class") == "mark"]
    plot_w = WIDTH - LEFT - RIGHT
    assert float(bars[0].get("x")) == LEFT and float(bars[0].get("width")) == pytest.approx(plot_w / 39 - 1, abs=0.1)
    lines = [e for e in svg.iter(f"{SVG}line") if "marker" in (e.get("class") or "")]
    assert [(e.get("class"), float(e.get("x1"))) for e in lines] == [
        ("marker marker-outside", LEFT), ("marker", pytest.approx(LEFT + plot_w * 13 / 39, abs=0.1)),
        ("marker marker-outside", WIDTH - RIGHT)]
    assert lines[0].find(f"{SVG}title").text == "champion: v1 -> v2 (at 2026-11-18 09:14, before this axis)"
    assert lines[2].find(f"{SVG}title").text == "champion: v2 -> v1 (at 2026-11-21 08:00, after this axis)"
    arrows = [(e.text, e.get("data-outside")) for e in svg.iter(f"{SVG}text") if e.get("class") == "marker-edge"]
    assert arrows == [("◂", "before"), ("▸", "after")]
    assert float(lines[1].get("y2")) == HEIGHT - 40


def test_a_burst_at_the_end_of_the_window_widens_back_from_there() -> None:
    end = datetime(2026, 11, 22, 12, 0, 30)
    span = zoomed(datetime(2026, 11, 22, 11, 58), datetime(2026, 11, 22, 12, 0), end - timedelta(days=7), end,
                  timedelta(minutes=1))
    assert span == Span(datetime(2026, 11, 22, 11, 50), end, zoomed=True)
    assert span.note("7d") == "zoomed to 11:50–12:00 of the 7-day window"
