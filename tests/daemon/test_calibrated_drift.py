"""Drift thresholds calibrated to a false-page budget, on a real home: stored per version, shown beside
the fixed bands, judging the verdict, and used by the alert rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.alerts.rules import DEFAULT_RULES
from appliance.clock import utc_now
from appliance.contracts.features import features_from_json
from appliance.core.inputs import Inputs
from appliance.core.periods import Period
from appliance.home import Home
from appliance.home.context import AppContext, open_context
from appliance.monitoring.checks import run_check
from appliance.monitoring.model_drift import check_model_drift
from appliance.registry.versions import get_version
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.store import prediction_queries as pq


def _log(ctx: AppContext, records: list[dict[str, Any]], at: Any, request_id: str) -> None:
    features = features_from_json(get_version(ctx.store, "delay", 1)["features"])
    pq.ensure_inputs_table(ctx.store, "delay", features)
    log = PredictionLog(ctx.store.cursor())
    inputs = Inputs.from_polars(pl.DataFrame(records), features)
    n = inputs.height
    record = LogRecord(request_id, "delay", 1, "champion", "native", np.zeros(n), np.full(n, 0.2), 1.0,
                       [[] for _ in range(n)], inputs, logged_at=at)
    log.submit(record)
    log.wait(record)
    log.close()


def _budget(home: Path, days: float) -> None:
    (home / "vigil.toml").write_text(f"[monitoring.models.delay]\nfalse_page_budget_days = {days}\n")


def test_calibrated_thresholds_are_stored_shown_and_judge_the_verdict(fresh_home: Path,
                                                                      sample_records: list[dict[str, Any]]) -> None:
    """The flights' temperature wanders with the season through the training rows, so a 15-minute window
    of 60 rows is far from the whole reference by nature: the fixed bands call it critical every time,
    the calibrated thresholds do not page for it."""
    _budget(fresh_home, 30)
    with open_context(Home(fresh_home)) as ctx:
        _log(ctx, sample_records[:60], utc_now() - timedelta(minutes=5), "calm")
        last = Period.ending(utc_now(), timedelta(minutes=15))
        result = check_model_drift(ctx, "delay", last, version=None, actor="t")
        temp = result["features"]["temp"]
        assert temp["psi"] > 0.25 and temp["verdict"] == "ok" and result["false_page_budget_days"] == 30
        assert temp["thresholds"]["judged_by"] == "calibrated" and temp["thresholds"]["method"] == "modelled"
        assert temp["thresholds"]["psi_critical"] > temp["psi"] and temp["thresholds"]["fixed"]["psi_critical"] == 0.25
        stored = ctx.store.rows("SELECT feature, metric, window_rows, method, floored, critical, computed_at "
                                "FROM drift_calibrations WHERE model_name = 'delay' AND version = 1")
        assert len(stored) == 2 * len(result["features"]) and {r["window_rows"] for r in stored} == {45}
        assert all(r["critical"] >= (0.25 if r["metric"] == "psi" else 0.2) for r in stored)  # never below fixed
        judged = ctx.store.rows("SELECT feature, judged_by, psi_critical FROM drift_thresholds WHERE run_id = ?",
                                [result["run_id"]])
        assert {r["feature"]: r["psi_critical"] for r in judged}["temp"] == temp["thresholds"]["psi_critical"]
        again = check_model_drift(ctx, "delay", last, version=None, actor="t")
        assert again["features"]["temp"]["thresholds"] == temp["thresholds"]
        assert ctx.store.scalar("SELECT count(DISTINCT computed_at) FROM drift_calibrations") == 1  # reused


def test_the_drift_rules_page_on_calibrated_thresholds(fresh_home: Path,
                                                       sample_records: list[dict[str, Any]]) -> None:
    """Two checks in a row (the default rules need two breaching windows): with the fixed bands the
    season's temperature opens drift-critical; with a budget it does not, and real drift still does."""
    _budget(fresh_home, 30)
    with open_context(Home(fresh_home)) as ctx:
        _log(ctx, sample_records[:60], utc_now() - timedelta(minutes=5), "calm")
        last = Period.ending(utc_now(), timedelta(minutes=15))
        for _ in range(2):
            summary, _ = run_check(ctx, "delay", period=last, trigger="t", actor="t", rules=DEFAULT_RULES)
        assert [a for a in summary["alerts"] if a["rule"] == "drift-critical" and a["subject"] == "temp"] == []
        hot = [dict(r, visib=r["visib"] - 9.0, distance=r["distance"] * 30.0) for r in sample_records[:60]]
        _log(ctx, hot, utc_now() - timedelta(minutes=4), "hot")
        for _ in range(2):
            summary, _ = run_check(ctx, "delay", period=Period.ending(utc_now(), timedelta(minutes=15)),
                                   trigger="t", actor="t", rules=DEFAULT_RULES)
        opened = {a["subject"]: a["message"] for a in summary["alerts"] if a["rule"] == "drift-critical"}
        assert "distance" in opened and "its calibrated" in opened["distance"]
