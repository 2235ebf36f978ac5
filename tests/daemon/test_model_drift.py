"""Drift of a served model: its training rows against what it answered, through the running daemon."""

from __future__ import annotations

import json

import pytest

from appliance.admin_client import call
from daemon_support import Daemon


def _sql(daemon: Daemon, sql: str) -> list[list[object]]:
    return call(str(daemon.home), "sql", {"query": sql})["rows"]


def test_drift_of_served_traffic_is_measured_stored_and_explained(daemon: Daemon, sample_records, cli) -> None:
    calm = cli("drift", "delay", "--home", daemon.home)
    assert calm.code == 2 and "answered no requests in " in calm.err and "(event time)" in calm.err
    for start in range(0, 200, 20):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 20]})[0] == 200
    hot = [dict(r, temp=r["temp"] + 40.0) for r in sample_records]
    for start in range(0, 200, 20):
        assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 20]})[0] == 200
    result = cli("drift", "delay", "--window", "1h", "--json", "--home", daemon.home)
    report = json.loads(result.out)
    assert result.code == 1 and report["verdict"] == "critical" and report["current_rows"] == 400
    features = report["features"]
    assert features["temp"]["verdict"] == "critical" and features["temp"]["psi"] > 1
    assert features["temp"]["quantiles"]["p95"]["current"] > features["temp"]["quantiles"]["p95"]["reference"]
    assert features["carrier"]["kind"] == "categorical" and features["(prediction)"]["kind"] == "numeric"
    assert any(s["column"] == "origin" and s["feature"] == "temp" for s in report["segments"])
    run = report["run_id"]
    assert _sql(daemon, f"SELECT model_name, version, verdict, current_rows FROM drift_runs WHERE run_id = {run}") == [
        ["delay", 1, "critical", 400]]
    stored = _sql(daemon, f"SELECT value FROM drift_results WHERE run_id = {run} AND feature = 'temp' "
                          "AND segment_column IS NULL AND metric = 'psi'")
    assert stored[0][0] == features["temp"]["psi"]
    assert _sql(daemon, f"SELECT count(DISTINCT segment_value) FROM drift_results WHERE run_id = {run} "
                        "AND segment_column = 'origin'")[0][0] >= 2
    explained = _sql(daemon, f"SELECT explanation FROM drift_explanations WHERE run_id = {run} AND feature = 'temp'")
    assert json.loads(explained[0][0])["top_bins"][0]["current_share"] > 0.5


def test_drift_refuses_bad_arguments(daemon: Daemon, cli) -> None:
    assert "no model named 'nope'" in cli("drift", "nope", "--home", daemon.home).err
    assert "not a duration" in cli("drift", "delay", "--window", "soon", "--home", daemon.home).err
    both = cli("drift", "delay", "--reference", "a.parquet", "--current", "b.parquet", "--home", daemon.home)
    assert both.code == 2 and "not both" in both.err
    neither = cli("drift", "--home", daemon.home)
    assert neither.code == 2 and "give a model NAME" in neither.err


def test_bands_are_configurable_per_model(configured_daemon, sample_records, cli) -> None:
    daemon = configured_daemon("[monitoring.models.delay]\npsi_warning = 50.0\npsi_critical = 60.0\n"
                               "js_warning = 0.99\njs_critical = 1.0\n")
    hot = [dict(r, temp=r["temp"] + 40.0) for r in sample_records]
    assert daemon.post("/v1/models/delay/predict", {"records": hot[:100]})[0] == 200
    report = json.loads(cli("drift", "delay", "--window", "1h", "--json", "--home", daemon.home).out)
    assert report["features"]["temp"]["psi"] > 1 and report["features"]["temp"]["verdict"] == "ok"


def test_reference_can_be_an_earlier_window_of_traffic(fresh_home, sample_records) -> None:
    """Logged traffic with chosen times (written by the prediction log itself) against an earlier window."""
    from datetime import timedelta

    import numpy as np
    import polars as pl

    from appliance.clock import utc_now
    from appliance.core.periods import Period
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from_json
    from appliance.errors import MonitoringError
    from appliance.home import Home
    from appliance.monitoring.model_drift import check_model_drift
    from appliance.registry.versions import get_version
    from appliance.core.inputs import Inputs
    from appliance.serving.prediction_log import LogRecord, PredictionLog
    from appliance.store import prediction_queries as pq

    with open_context(Home(fresh_home)) as ctx:
        features = features_from_json(get_version(ctx.store, "delay", 1)["features"])
        pq.ensure_inputs_table(ctx.store, "delay", features)
        log = PredictionLog(ctx.store.cursor())
        now = utc_now()
        batches = [("early", sample_records, now - timedelta(minutes=90)),
                   ("late", [dict(r, temp=r["temp"] + 40.0) for r in sample_records], now - timedelta(minutes=10))]
        for name, records, at in batches:
            inputs = Inputs.from_polars(pl.DataFrame(records), features)
            n = inputs.height
            record = LogRecord(name, "delay", 1, "champion", "native", np.zeros(n), np.full(n, 0.2), 1.0,
                               [[] for _ in range(n)], inputs, logged_at=at)
            log.submit(record)
            log.wait(record)
        log.close()
        last = Period.ending(utc_now(), timedelta(minutes=30))
        result = check_model_drift(ctx, "delay", last, version=None, actor="t", reference_window="2h")
        assert result["reference"].startswith("window ") and result["reference_rows"] == len(sample_records)
        assert result["current_rows"] == len(sample_records)
        assert result["features"]["temp"]["verdict"] == "critical"
        assert result["features"]["carrier"]["verdict"] == "ok"
        with pytest.raises(MonitoringError, match="answered no requests in the 30m before the window"):
            check_model_drift(ctx, "delay", last, version=None, actor="t", reference_window="30m")
