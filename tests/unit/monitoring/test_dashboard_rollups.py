"""Rollups give the dashboard the same answers as the raw log (within the 2% buckets), for any window."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from appliance.home.context import AppContext, open_context
from appliance.home import Home
from appliance.monitoring.dashboard import dashboard, roll_up
from appliance.store import rollup_queries as rq

NOW = datetime(2026, 11, 22, 12, 0, 30)


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        yield opened


def _log(ctx: AppContext, latencies: list[float], start: datetime, version: int = 1, spread_s: float = 3600) -> None:
    step = spread_s / len(latencies)
    rows = [(f"r{version}-{start:%H%M}-{i}", 0, start + timedelta(seconds=i * step), "m", version, "champion",
             "native", 1.0, 0.5, latency, [], False, None, None) for i, latency in enumerate(latencies)]
    ctx.store.append_rows("prediction_log", None, rows)


def _register_model(ctx: AppContext) -> None:
    ctx.store.execute("INSERT INTO models VALUES ('m', 'binary', 'test', 'me', ?)", [NOW])


def test_rolled_up_and_raw_answers_agree(ctx: AppContext) -> None:
    _register_model(ctx)
    rng = np.random.default_rng(3)
    first = rng.lognormal(1.0, 0.6, 3000).round(3).tolist()
    second = rng.lognormal(1.5, 0.4, 2000).round(3).tolist()
    _log(ctx, first, NOW - timedelta(hours=2))
    _log(ctx, second, NOW - timedelta(hours=2), version=2)
    raw = dashboard(ctx, "m", "3h", now=NOW)  # nothing rolled up yet: all from the raw log
    result = roll_up(ctx, now=NOW)
    assert result["requests"] == 5000 and rq.watermark(ctx.store) == datetime(2026, 11, 22, 11, 59)
    rolled = dashboard(ctx, "m", "3h", now=NOW)
    assert rolled["latency"] == raw["latency"]  # the same buckets either way
    assert rolled["requests_per_minute"] == raw["requests_per_minute"]
    assert sum(r["requests"] for r in rolled["requests_per_minute"]) == 5000
    for version, values in ((1, first), (2, second)):
        row = next(r for r in rolled["latency"] if r["version"] == version)
        for q, key in ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")):
            exact = float(np.percentile(values, q, method="inverted_cdf"))
            assert exact <= row[key] <= exact * 1.02 + 1e-9  # the bucket's upper edge: at most 2% above
    assert roll_up(ctx, now=NOW)["requests"] == 0  # idempotent: nothing new


def test_minutes_after_the_watermark_come_from_the_raw_log(ctx: AppContext) -> None:
    _register_model(ctx)
    _log(ctx, [5.0] * 100, NOW - timedelta(minutes=30), spread_s=60)
    roll_up(ctx, now=NOW - timedelta(minutes=10))
    _log(ctx, [50.0] * 100, NOW - timedelta(minutes=5), spread_s=60)  # after the watermark
    board = dashboard(ctx, "m", "1h", now=NOW)
    assert board["latency"][0]["requests"] == 200
    assert board["latency"][0]["p50_ms"] == pytest.approx(rq.bucket_upper_ms(rq.exact_bucket(5.0)))
    assert board["latency"][0]["p99_ms"] == pytest.approx(rq.bucket_upper_ms(rq.exact_bucket(50.0)))
    short = dashboard(ctx, "m", "10m", now=NOW)
    assert short["latency"][0]["requests"] == 100  # the window still bounds what is read
