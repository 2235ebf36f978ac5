"""The pieces of a report: SVG charts (well-formed, one mark per value, gaps, folding, escaping), the
time bucket, and traffic per bucket from rollups and the raw log alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from appliance.home.context import AppContext, open_context
from appliance.home import Home
from appliance.monitoring.dashboard import roll_up
from appliance.core.windows import parse_window
from appliance.reports.charts import MAX_BINS, Series, histogram, time_chart
from appliance.reports.content import bucket_for
from appliance.store import report_queries as rpq
from appliance.store import rollup_queries as rq

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 22, 12, 0, 30)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def test_a_bar_chart_draws_one_mark_per_value_and_ticks_at_midnights() -> None:
    start = datetime(2026, 11, 15, 7, 30)
    points = [(start + timedelta(hours=h), float(h % 5)) for h in range(0, 168, 12)]
    svg = _parse(time_chart("traffic", "Requests <per> hour", [Series("requests", points)], start,
                            start + timedelta(days=7), bars=True, step=timedelta(hours=1),
                            markers=[(start + timedelta(days=2), "champion: v1 -> v2")]))
    assert svg.get("data-chart") == "traffic" and svg.find(f"{SVG}title").text == "Requests <per> hour"
    marks = [e for e in svg.iter() if e.get("class") == "mark"]
    assert len(marks) == len(points)
    assert sorted(float(m.get("height")) for m in marks)[-1] > sorted(float(m.get("height")) for m in marks)[0]
    ticks = [e.text for e in svg.iter(f"{SVG}text") if e.get("class") == "tick" and e.text and "-" in e.text]
    assert ticks == ["11-16", "11-17", "11-18", "11-19", "11-20", "11-21", "11-22"]  # whole UTC days
    assert [e for e in svg.iter() if e.get("class") == "marker"][0].find(f"{SVG}title").text == "champion: v1 -> v2"


def test_a_gap_splits_a_line() -> None:
    start = datetime(2026, 11, 22, 0, 0)
    points = [(start + timedelta(hours=h), None if h == 5 else 1.0 + h) for h in range(10)]
    svg = _parse(time_chart("latency", "ms", [Series("p50", points)], start, start + timedelta(hours=10)))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [len(line.get("points").split()) for line in lines] == [5, 4]


def test_a_histogram_folds_many_categories_and_escapes_labels() -> None:
    labels = [f"<c{i}>" for i in range(25)]
    reference = list(np.linspace(1, 25, 25) / np.linspace(1, 25, 25).sum())
    current = list(reversed(reference))
    svg = _parse(histogram("drift:carrier", "carrier & co", labels, reference, current))
    bars = [e for e in svg.iter(f"{SVG}rect") if e.get("class") == "mark"]
    assert len(bars) == 2 * MAX_BINS
    titles = [b.find(f"{SVG}title").text for b in bars]
    other = [t for t in titles if t.startswith("(other)")]
    folded = sorted(range(25), key=lambda i: -max(reference[i], current[i]))[MAX_BINS - 1:]
    assert other[0] == f"(other) reference: {sum(reference[i] for i in folded):.2%}"
    assert "<c24> reference: 7.69%" in titles  # labels are text, not markup


@pytest.mark.parametrize(("window", "bucket"), [("1h", "1m"), ("24h", "15m"), ("7d", "1h"), ("30d", "6h"),
                                                ("365d", "7d")])
def test_the_bucket_keeps_a_chart_within_200_points(window: str, bucket: str) -> None:
    assert bucket_for(parse_window(window)) == bucket


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        opened.store.execute("INSERT INTO models VALUES ('m', 'binary', 'test', 'me', ?)", [NOW])
        yield opened


def _log(ctx: AppContext, latencies: list[float], start: datetime, spread_s: float) -> None:
    step = spread_s / len(latencies)
    rows = [(f"r-{start:%H%M}-{i}", j, start + timedelta(seconds=i * step), "m", 1, "champion", "native", 1.0, 0.5,
             latency, [], False, None, None) for i, latency in enumerate(latencies) for j in range(2)]
    ctx.store.append_rows("prediction_log", None, rows)


def test_traffic_per_bucket_reads_rollups_and_the_raw_log_alike(ctx: AppContext) -> None:
    rng = np.random.default_rng(5)
    first = rng.lognormal(1.0, 0.5, 600).round(3).tolist()
    second = rng.lognormal(2.0, 0.5, 400).round(3).tolist()
    _log(ctx, first, NOW - timedelta(hours=3), 3600)  # 09:00:30 to 10:00:30: the 09:00 and 10:00 buckets
    _log(ctx, second, NOW - timedelta(minutes=50), 1800)
    start, end = NOW - timedelta(hours=4), NOW
    raw = rpq.traffic(ctx.store, "m", start, end, rq.watermark(ctx.store), timedelta(hours=1))
    roll_up(ctx, now=NOW - timedelta(minutes=40))  # part of the second batch is rolled up, part is not
    mixed = rpq.traffic(ctx.store, "m", start, end, rq.watermark(ctx.store), timedelta(hours=1))
    assert mixed == raw
    assert [r["start"] for r in raw] == [datetime(2026, 11, 22, h) for h in (9, 10, 11)]  # whole hours
    assert sum(r["requests"] for r in raw) == 1000 and sum(r["rows"] for r in raw) == 2000
    last = raw[-1]
    assert last["requests"] == 400
    exact = float(np.percentile(second, 95, method="inverted_cdf"))
    assert exact <= last["p95_ms"] <= exact * 1.02 + 1e-9
