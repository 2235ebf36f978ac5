"""Error budgets and burn rates from synthetic rollups, exact: a fast burn pages within the short window, a
slow burn within the long one, a model failing exactly at its target rate pages nobody."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from appliance.config import SloConfig
from appliance.home import Home
from appliance.home.context import AppContext, open_context
from appliance.monitoring import slo_math as sm
from appliance.monitoring.slo import fast_bucket, model_slos
from appliance.alerts.evaluation import Observation
from appliance.monitoring.slo_alerts import observe
from appliance.store import rollup_queries as rq
from appliance.store import slo_queries as sq

NOW = datetime(2026, 11, 22, 12, 0)
DAY = 1440  # minutes


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        opened.store.execute("INSERT INTO models VALUES ('m', 'binary', 'test', 'me', ?)", [NOW])
        slo = SloConfig(models={"m": SloConfig().policy_for("m").model_copy(update={
            "quality_floor": None, "label_coverage_floor": None, "drift_objective": False})})
        yield replace(opened, config=opened.config.model_copy(update={"slo": slo}))


def _traffic(ctx: AppContext, minutes: int, answered: int, failed: int, *, end: datetime = NOW,
             latency_bucket: int = 100) -> None:
    """`minutes` whole minutes ending at `end`, each with `answered` requests and `failed` server errors."""
    starts = [end - timedelta(minutes=m) for m in range(minutes, 0, -1)]
    ctx.store.append_rows("request_rollups", None, [("m", 1, s, answered, answered, 1.0 * answered) for s in starts])
    ctx.store.append_rows("latency_rollups", None, [("m", 1, s, latency_bucket, answered) for s in starts])
    if failed:
        ctx.store.append_rows("failure_rollups", None, [("m", s, failed, 0) for s in starts])
    ctx.store.execute("INSERT OR REPLACE INTO rollup_watermarks VALUES ('prediction_log', ?)", [end])


def _objective(ctx: AppContext, at: datetime, name: str = "availability") -> dict:
    """The objective at `at`, read from the minute histogram and again once its complete hours are folded
    into the hourly one: the same numbers either way."""
    minutes = model_slos(ctx, "m", at)
    sq.compact_hours(ctx.store)
    assert model_slos(ctx, "m", at) == minutes
    return next(o for o in minutes["objectives"] if o["objective"] == name)


def _pair(objective: dict, windows: str) -> dict:
    return next(b for b in objective["burns"] if b["windows"] == windows)


def test_thresholds_are_the_workbook_shares_of_a_30_day_budget() -> None:
    assert [sm.threshold(p, timedelta(days=30)) for p in sm.PAIRS] == [14.4, 6.0, 3.0, 1.0]
    assert [sm.threshold(p, timedelta(days=28)) for p in sm.PAIRS] == [13.44, 5.6, 2.8, 1.0]
    # a shorter objective's shares fall below 1, where a burn cannot spend the budget in time: never below 1
    assert [sm.threshold(p, timedelta(days=3)) for p in sm.PAIRS] == [1.44, 1.0, 1.0, 1.0]
    assert [(p.severity, p.name) for p in sm.PAIRS] == [("page", "1h/5m"), ("page", "6h/30m"), ("ticket", "1d/2h"),
                                                          ("ticket", "3d/6h")]


def test_a_fast_burn_pages_within_the_short_window(ctx: AppContext) -> None:
    _traffic(ctx, 3 * DAY, answered=1000, failed=0, end=NOW)  # three clean days
    fired_at = None
    for minute in range(1, 7):  # then every request fails
        _traffic(ctx, 1, answered=0, failed=1000, end=NOW + timedelta(minutes=minute))
        page = _pair(_objective(ctx, NOW + timedelta(minutes=minute)), "1h/5m")
        if page["firing"] and fired_at is None:
            fired_at = minute
    assert fired_at == 5  # 5 of 60 minutes failed: burn (5000 / 60000) / 0.005 = 16.67 > 14.4; at 4: 13.33
    objective = _objective(ctx, NOW + timedelta(minutes=5))
    page = _pair(objective, "1h/5m")
    assert page["long_burn"] == 16.666666667 and page["short_burn"] == 200.0 and page["threshold"] == 14.4
    assert page["long_bad"] == 5000 and page["long_total"] == 60_000
    at_four = _pair(_objective(ctx, NOW + timedelta(minutes=4)), "1h/5m")
    assert at_four["long_burn"] == 13.333333333 and not at_four["firing"]
    # 6000 bad of 4.326M requests in 30 days: (6000 / 4326000) / 0.005 = 0.2774 of the budget spent
    at_six = _objective(ctx, NOW + timedelta(minutes=6))
    assert at_six["total"] == 4_326_000 and at_six["bad"] == 6000
    assert at_six["budget_left"] == round(1 - round((6000 / 4_326_000) / 0.005, 9), 9) == 0.722607490


def test_a_slow_burn_pages_within_the_long_window_and_the_fast_pair_stays_quiet(ctx: AppContext) -> None:
    _traffic(ctx, 2 * DAY, answered=1000, failed=0, end=NOW)
    _traffic(ctx, 270, answered=960, failed=40, end=NOW + timedelta(minutes=270))  # 4% fail: burn 8
    at_270 = _objective(ctx, NOW + timedelta(minutes=270))
    slow = _pair(at_270, "6h/30m")
    assert slow["long_burn"] == 6.0 and slow["short_burn"] == 8.0 and not slow["firing"]  # 10800 / 360000 / 0.005
    _traffic(ctx, 1, answered=960, failed=40, end=NOW + timedelta(minutes=271))
    at_271 = _objective(ctx, NOW + timedelta(minutes=271))
    slow = _pair(at_271, "6h/30m")
    assert slow["firing"] and slow["long_burn"] == round(10840 / 360000 / 0.005, 9) and slow["ratio"] > 1
    fast = _pair(at_271, "1h/5m")
    assert fast["long_burn"] == 8.0 and not fast["firing"]  # 8 < 14.4: a slow burn never pages as a fast one
    assert at_271["burn_rate"] == 8.0  # the current rate: the last hour's


def test_failing_exactly_at_the_target_rate_pages_nobody_and_spends_the_budget_exactly(ctx: AppContext) -> None:
    _traffic(ctx, 30 * DAY, answered=995, failed=5, end=NOW)  # 0.5% of requests fail, for a 99.5% target
    objective = _objective(ctx, NOW)
    assert objective["burn_rate"] == 1.0 and objective["budget_left"] == 0.0
    assert objective["exhausted_in"] == timedelta(0)
    assert [b["long_burn"] for b in objective["burns"]] == [1.0, 1.0, 1.0, 1.0]
    assert [b["ratio"] for b in objective["burns"]] == [round(1 / 14.4, 9), round(1 / 6, 9), round(1 / 3, 9), 1.0]
    assert not any(b["firing"] for b in objective["burns"])


def test_budget_left_and_when_it_runs_out(ctx: AppContext) -> None:
    _traffic(ctx, 10 * DAY, answered=998, failed=2, end=NOW)  # burn 0.4 for ten days
    objective = _objective(ctx, NOW)
    assert objective["value"] == 0.998 and objective["burn_rate"] == 0.4
    assert objective["budget_left"] == 0.6  # 0.2% of requests failed of 0.5% allowed
    assert objective["exhausted_in"] == timedelta(days=30) * (0.6 / 0.4)  # 45 days at 0.4


def test_a_window_with_too_few_requests_pages_nobody(ctx: AppContext) -> None:
    _traffic(ctx, 60, answered=0, failed=0, end=NOW - timedelta(minutes=5))
    _traffic(ctx, 5, answered=1, failed=2, end=NOW)  # 10 failures of 15 requests: fewer than min_requests (20)
    page = _pair(_objective(ctx, NOW), "1h/5m")
    assert page["short_burn"] is None and page["ratio"] == 0.0 and not page["firing"]


def test_the_latency_objective_counts_buckets_at_or_below_the_threshold(ctx: AppContext) -> None:
    threshold = 250.0
    fast = fast_bucket(threshold)
    assert rq.bucket_upper_ms(fast) <= threshold < rq.bucket_upper_ms(fast + 1)
    _traffic(ctx, 60, answered=990, failed=0, latency_bucket=fast)
    _traffic(ctx, 60, answered=10, failed=0, latency_bucket=fast + 1)
    objective = _objective(ctx, NOW, "latency")
    assert (objective["good"], objective["bad"]) == (59_400, 600) and objective["value"] == 0.99
    assert objective["burn_rate"] == 1.0 and objective["budget_left"] == 0.0


def test_raw_failures_after_the_watermark_count(ctx: AppContext) -> None:
    _traffic(ctx, 60, answered=100, failed=0, end=NOW - timedelta(minutes=2))
    for i in range(3):
        ctx.store.execute("INSERT INTO rejected_requests VALUES (?, ?, 'm', 'native', ?, 'x', '[]', '')",
                          [f"f{i}", NOW - timedelta(seconds=30 + i), 500 if i < 2 else 422])
    objective = _objective(ctx, NOW)
    assert (objective["good"], objective["bad"]) == (6000, 2)  # the 422 is the client's: neither good nor bad


def test_the_rollup_counts_server_and_client_failures_per_minute(ctx: AppContext) -> None:
    from appliance.monitoring.dashboard import roll_up

    rows = [("a", NOW - timedelta(minutes=3, seconds=10), "m", 500), ("b", NOW - timedelta(minutes=3, seconds=5), "m", 500),
            ("c", NOW - timedelta(minutes=3), "m", 422), ("d", NOW - timedelta(minutes=2, seconds=50), None, 404),
            ("e", NOW - timedelta(seconds=20), "m", 500)]  # the last one is inside the safety lag: not yet
    for request_id, at, model, status in rows:
        ctx.store.execute("INSERT INTO rejected_requests VALUES (?, ?, ?, 'native', ?, 'x', '[]', '')",
                          [request_id, at, model, status])
    assert roll_up(ctx, now=NOW)["to"] == NOW - timedelta(minutes=1)  # starts at the first refused request
    assert ctx.store.execute("SELECT model_name, minute, server_errors, client_errors FROM failure_rollups "
                             "ORDER BY minute") == [("m", NOW - timedelta(minutes=4), 2, 0),
                                                    ("m", NOW - timedelta(minutes=3), 0, 1)]  # no model: not kept
    assert (_objective(ctx, NOW)["bad"], _objective(ctx, NOW)["good"]) == (3, 0)  # two rolled up, one raw


def _checks(ctx: AppContext, values: list[tuple[str, float]], verdicts: list[str] | None = None) -> None:
    """One scheduled check an hour back from NOW per value (newest first), each with that observation, a label
    coverage of due rows of 0.2, and a drift run with the verdict given (default ok)."""
    for i, (metric, value) in enumerate(values):
        end = NOW - timedelta(hours=i + 1)
        drift_run = ctx.store.scalar(
            "INSERT INTO drift_runs (model_name, version, reference, window_start, window_end, current_rows, "
            "reference_rows, verdict, computed_at, computed_by) VALUES ('m', 1, 'training', ?, ?, 10, 10, ?, ?, "
            "'t') RETURNING run_id", [end - timedelta(minutes=15), end, (verdicts or ["ok"] * len(values))[i], end])
        run_id = ctx.store.scalar(
            "INSERT INTO monitor_runs (model_name, version, window_start, window_end, drift_run_id, computed_at, "
            "trigger) VALUES ('m', 1, ?, ?, ?, ?, 'schedule') RETURNING run_id",
            [end - timedelta(minutes=15), end, drift_run, end])
        ctx.store.execute("INSERT INTO monitor_observations VALUES (?, 'm', ?, 'x', ?, '(model)', ?), "
                          "(?, 'm', ?, 'labels', 'label_coverage_due', '(model)', 0.2)",
                          [run_id, end, metric, value, run_id, end])


def test_check_objectives_count_the_monitoring_checks(ctx: AppContext) -> None:
    values = [(("roc_auc" if i % 2 == 0 else "estimated_roc_auc"), 0.55 if i in (0, 5) else 0.7) for i in range(10)]
    _checks(ctx, values, ["critical" if i == 3 else "ok" for i in range(10)])  # two checks below the 0.6 floor
    ctx.store.execute("INSERT INTO monitor_runs (model_name, version, window_start, window_end, computed_at, trigger) "
                      "VALUES ('m', 1, ?, ?, ?, 'past')", [NOW - timedelta(days=2), NOW - timedelta(days=1), NOW])
    every = SloConfig(label_coverage_floor=0.01, min_checks=10)  # every objective (the label one is opt-in)
    config = ctx.config.model_copy(update={"slo": every})
    found = {o["objective"]: o for o in model_slos(replace(ctx, config=config), "m", NOW)["objectives"]}
    quality, coverage, drift = found["quality"], found["label_coverage"], found["drift"]
    assert (quality["good"], quality["bad"], quality["burn_rate"], quality["budget_left"]) == (8, 2, 2.0, -1.0)
    assert quality["latest"] == 0.55  # the newest check (an hour ago) measured 0.55 on labels
    assert (drift["good"], drift["bad"], drift["burn_rate"], drift["budget_left"]) == (9, 1, 1.0, 0.0)
    assert (coverage["good"], coverage["budget_left"], coverage["exhausted_in"]) == (10, 1.0, None)
    assert quality["burns"] == [] and found["availability"]["total"] == 0  # no traffic: nothing measured
    [spent] = [o for o in observe(model_slos(replace(ctx, config=config), "m", NOW), None) if o.subject == "quality"]
    assert spent.metric == "slo_budget_spent" and spent.value == 2.0 and spent.detail == (
        "quality SLO (90% of checks with roc_auc (realized, else estimated) >= 0.6 over 30d) has spent its whole "
        "error budget: 2 bad of 10; owner none")
    usual = ctx.config.model_copy(update={"slo": SloConfig()})  # min_checks 24: 10 checks are too few to judge
    report = model_slos(replace(ctx, config=usual), "m", NOW)
    quality = next(o for o in report["objectives"] if o["objective"] == "quality")
    assert quality["burn_rate"] is None and "label_coverage" not in {o["objective"] for o in report["objectives"]}
    assert [(o.metric, o.value) for o in observe(report, None) if o.subject == "quality"] == [
        ("slo_budget_spent", 0.0)]  # too few checks: not spent (an open alert would resolve)


def test_an_error_metric_s_floor_is_a_ceiling(ctx: AppContext) -> None:
    _checks(ctx, [("mae", 4.0), ("mae", 5.0), ("estimated_mae", 6.0)])
    policy = SloConfig(quality_metric="mae", quality_floor=5.0, min_checks=1)
    found = next(o for o in model_slos(replace(ctx, config=ctx.config.model_copy(update={"slo": policy})), "m",
                                       NOW)["objectives"] if o["objective"] == "quality")
    assert (found["good"], found["bad"]) == (2, 1)  # 4 and 5 at or below the ceiling; the estimate of 6 above it
    assert found["describe"] == "checks with mae (realized, else estimated) <= 5"


def test_complete_hours_fold_once_and_windows_cut_inside_an_hour_read_its_minutes() -> None:
    start, end = datetime(2026, 11, 1, 10, 20), datetime(2026, 11, 1, 15, 30)
    hours, minutes = sq.split_hours(start, end, datetime(2026, 11, 1, 15, 0), [start, datetime(2026, 11, 1, 12, 40)])
    assert hours == [(datetime(2026, 11, 1, 11), datetime(2026, 11, 1, 12)),
                     (datetime(2026, 11, 1, 13), datetime(2026, 11, 1, 15))]
    assert minutes == [(start, datetime(2026, 11, 1, 11)), (datetime(2026, 11, 1, 12), datetime(2026, 11, 1, 13)),
                       (datetime(2026, 11, 1, 15), end)]
    assert sq.split_hours(start, end, None, [start]) == ([], [(start, end)])  # nothing folded yet


def test_the_hourly_histogram_holds_what_the_minutes_hold(ctx: AppContext) -> None:
    _traffic(ctx, 150, answered=7, failed=0, end=NOW - timedelta(minutes=30))
    assert sq.compact_hours(ctx.store) == 2  # 09:00 and 10:00; 11:00 is rolled up only to 11:30: not yet
    assert sq.hours_watermark(ctx.store) == datetime(2026, 11, 22, 11)
    assert ctx.store.execute("SELECT hour, sum(requests) FROM latency_hour_rollups GROUP BY hour ORDER BY hour") == [
        (datetime(2026, 11, 22, 9), 7 * 60), (datetime(2026, 11, 22, 10), 7 * 60)]
    assert sq.compact_hours(ctx.store) == 0  # each hour once


def test_the_budget_history_ends_at_what_vigil_slo_says_and_burns_per_step(ctx: AppContext) -> None:
    from appliance.monitoring.slo_history import budget_history

    _traffic(ctx, 2 * DAY, answered=1000, failed=0, end=NOW - timedelta(hours=2))  # two clean days
    _traffic(ctx, 120, answered=1000, failed=50, end=NOW,  # then two slow hours failing 50 of 1,050 a minute
             latency_bucket=fast_bucket(250.0) + 1)
    sq.compact_hours(ctx.store)
    history = budget_history(ctx, "m", NOW - timedelta(hours=6), NOW)
    availability = next(o for o in history["objectives"] if o["objective"] == "availability")
    assert history["step"] == 3600 and availability["target"] == 0.995
    points = availability["points"]
    assert [p["at"] for p in points] == [NOW - timedelta(hours=h) for h in (5, 4, 3, 2, 1, 0)]
    assert [p["budget_left"] for p in points[:4]] == [1.0] * 4  # clean until two hours ago
    assert [p["burn_rate"] for p in points] == [0.0] * 4 + [round(50 / 1050 / 0.005, 9)] * 2  # 9.52 per failing hour
    now = _objective(ctx, NOW)
    assert points[-1]["budget_left"] == now["budget_left"]  # the last point is `vigil slo`'s budget left
    total = 2 * DAY * 1000 + 120 * 1050
    assert now["budget_left"] == round(1 - (120 * 50 / total) / 0.005, 9)
    latency = next(o for o in history["objectives"] if o["objective"] == "latency")
    assert latency["points"][-1]["budget_left"] == _objective(ctx, NOW, "latency")["budget_left"] == -3.0
    assert latency["points"][-1]["burn_rate"] == 100.0  # every answer of the last hour slow, over a 1% budget


def test_an_slo_alert_of_a_model_no_longer_judged_resolves(ctx: AppContext) -> None:
    """A page stays open only while its burn lasts: a model that lost its champion (so is not served) still
    has its open SLO alerts judged, and with nothing burning they resolve."""
    from appliance.alerts.evaluation import evaluate
    from appliance.alerts.rules import DEFAULT_RULES
    from appliance.monitoring.slo_alerts import check_slos
    from appliance.store import alert_queries as aq

    with ctx.store.transaction():
        [opened] = evaluate(ctx.store, DEFAULT_RULES, "m", [Observation("slo", "slo_burn_page", "latency", 5.0)],
                            NOW, None)
    assert opened.kind == "opened" and aq.models_with_open_alerts(ctx.store, ["slo_burn_page"]) == ["m"]
    result = check_slos(ctx, NOW + timedelta(minutes=1))
    assert (result["resolved"], result["errors"]) == (1, [])
    assert aq.models_with_open_alerts(ctx.store, ["slo_burn_page"]) == []
