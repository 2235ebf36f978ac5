"""Monitoring checks, alerts, incidents, jobs and retraining against a running daemon."""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from daemon_support import SPEC, Daemon, admin, start_daemon, wait_until
from tests.support import query


def _drifted(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    hot = [{**r, "temp": float(r["temp"]) + 45.0} for r in sample_records]
    for start in range(0, len(hot), 50):
        assert daemon.post("/v1/models/delay/predict", {"records": hot[start:start + 50]})[0] == 200


def test_drift_opens_alerts_an_incident_routes_them_and_triggers_a_retrain(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]], webhook: Any) -> None:
    daemon = configured_daemon(f'[alerts]\nwebhook_url = "{webhook.url()}"\nwebhook_backoff_s = 0.01\n'
                               "[jobs]\ndrift_retrain_windows = 2\n")
    _drifted(daemon, sample_records)
    first = admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    assert first["checks"][0]["alerts"] == []  # drift rules need two consecutive windows
    second = admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    opened = {(a["rule"], a["subject"]) for a in second["checks"][0]["alerts"] if a["change"] == "opened"}
    assert ("drift-critical", "temp") in opened
    assert second["checks"][0]["incidents_opened"] == [1]
    third = admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    assert third["checks"][0]["alerts"] == []  # still drifting: the open alerts stay, none repeats
    alerts = admin(daemon, "alerts", {})["alerts"]
    assert len([a for a in alerts if (a["rule"], a["subject"]) == ("drift-critical", "temp")]) == 1
    lines = [json.loads(x) for x in (daemon.home / "alerts.jsonl").read_text().splitlines()]
    assert any(x["event"] == "alert.opened" and (x["rule"], x["subject"]) == ("drift-critical", "temp")
               for x in lines)
    wait_until(lambda: any(x["rule"] == "drift-critical" for x in webhook.received), 10)
    observed = query_daemon(daemon, "SELECT count(*) FROM monitor_observations WHERE metric = 'psi' "
                                    "AND subject = 'temp' AND value > 0.25")
    assert observed[0][0] == 3
    # two consecutive critical windows: a retrain was queued with trigger 'drift' and registered as challenger
    run = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "retrain"})["runs"] if r["status"] == "ok"], 120)
    assert run[0]["trigger"] == "drift" and run[0]["model_name"] == "delay"
    version = query_daemon(daemon, "SELECT version, retrain_trigger FROM model_versions WHERE model_name = 'delay' "
                                   "ORDER BY version DESC LIMIT 1")[0]
    assert version[1] == "drift"
    aliases = dict(query_daemon(daemon, "SELECT alias, version FROM aliases WHERE model_name = 'delay'"))
    assert aliases["challenger"] == version[0] and aliases["champion"] == 1  # never straight to champion
    incident = admin(daemon, "incident_show", {"id": 1})
    kinds = [e["kind"] for e in incident["timeline"]]
    assert kinds[:2] == ["opened", "alert"] and "retrain" in kinds


def query_daemon(daemon: Daemon, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in admin(daemon, "sql", {"query": sql})["rows"]]


def test_an_overdue_job_runs_once_at_startup_and_interrupted_runs_are_marked(fresh_home: Path, tmp_path: Path) -> None:
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    with open_context(Home(fresh_home)) as ctx:
        ctx.store.execute("INSERT INTO job_runs (job, trigger, started_at, finished_at, status) "
                          "VALUES ('monitor', 'interval', ?, ?, 'ok')", [utc_now() - timedelta(hours=2)] * 2)
        ctx.store.execute("INSERT INTO job_runs (job, model_name, trigger, started_at, status) "
                          "VALUES ('retrain', 'delay', 'event', ?, 'running')", [utc_now() - timedelta(minutes=5)])
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        runs = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "monitor"})["runs"]
                              if r["trigger"] == "startup" and r["status"] in ("ok", "failed")], 30)
        assert runs[0]["status"] == "ok", runs[0]["error"]
        retrain = admin(daemon, "jobs", {"job": "retrain"})["runs"]
        assert retrain[0]["status"] == "failed" and "stopped during the run" in retrain[0]["error"]
        assert len([r for r in admin(daemon, "jobs", {"job": "monitor"})["runs"] if r["trigger"] == "startup"]) == 1
    finally:
        daemon.stop()


def test_a_failing_job_is_recorded_and_alerts(fresh_home: Path, tmp_path: Path, flights_small: Path) -> None:
    from appliance.cli.main import main

    data = tmp_path / "gone.parquet"
    shutil.copy(flights_small, data)
    spec = tmp_path / "gone.toml"
    spec.write_text(SPEC.format(model="gone", seed=3, source=f'path = "{data.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 10 }"))
    assert main(["train", "--spec", str(spec), "--home", str(fresh_home)]) == 0
    data.unlink()  # the source is gone: retraining must fail
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        queued = admin(daemon, "retrain", {"name": "gone", "reason": "test"})
        assert queued["queued"] is True
        failed = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "retrain"})["runs"]
                                if r["run_id"] == queued["run_id"] and r["status"] == "failed"], 120)
        assert "gone.parquet" in failed[0]["error"]
        alerts = wait_until(lambda: admin(daemon, "alerts", {"model": "gone"})["alerts"], 30)  # right after the run
        assert [(a["rule"], a["subject"]) for a in alerts] == [("job-failed", "retrain")]
        assert daemon.post("/v1/models/delay/predict", {"records": []})[0] == 400  # still serving
    finally:
        daemon.stop()


def test_retrain_without_a_daemon_registers_a_challenger(fresh_home: Path, cli: Callable[..., Any]) -> None:
    result = cli("retrain", "delay", "--reason", "new quarter of data", "--home", fresh_home)
    assert result.code == 0, result.err
    assert "now the challenger" in result.out
    rows = query(fresh_home, "SELECT version, retrain_trigger, reason, parent_version FROM model_versions "
                             "WHERE model_name = 'delay' ORDER BY version")
    assert rows[-1] == (3, "event", "new quarter of data", 1)
    assert query(fresh_home, "SELECT version FROM aliases WHERE model_name = 'delay' AND alias = 'challenger'") == [(3,)]
    assert cli("retrain", "nope", "--reason", "x", "--home", fresh_home).code == 2


def test_a_missed_cron_retrain_runs_at_startup_and_a_job_never_overlaps_itself(
        fresh_home: Path, tmp_path: Path) -> None:
    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    (fresh_home / "vigil.toml").write_text('[jobs.retrain.delay]\ncron = "0 3 * * *"\n')  # daily at 03:00 UTC
    with open_context(Home(fresh_home)) as ctx:  # the last scheduled retrain was two days ago
        ctx.store.execute("INSERT INTO job_runs (job, model_name, trigger, started_at, finished_at, status) "
                          "VALUES ('retrain', 'delay', 'cron', ?, ?, 'ok')", [utc_now() - timedelta(days=2)] * 2)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        first = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "retrain"})["runs"]
                               if r["trigger"] == "startup" and r["status"] in ("ok", "failed")], 120)
        assert first[0]["status"] == "ok", first[0]["error"]
        assert query_daemon(daemon, "SELECT retrain_trigger FROM model_versions WHERE version = 3") == [("schedule",)]
        one = admin(daemon, "retrain", {"name": "delay", "reason": "first"})
        two = admin(daemon, "retrain", {"name": "delay", "reason": "second, while the first runs"})
        def both_done() -> list[dict[str, Any]] | None:
            done = [r for r in admin(daemon, "jobs", {"job": "retrain", "limit": 10})["runs"]
                    if r["run_id"] in (one["run_id"], two["run_id"]) and r["status"] in ("ok", "failed", "skipped")]
            return done if len(done) == 2 else None

        runs = wait_until(both_done, 120)
        assert sorted(r["status"] for r in runs) == ["ok", "skipped"]
    finally:
        daemon.stop()


def test_retention_deletes_old_inputs_and_keeps_the_log(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.maintenance.retention import prune
    from appliance.registry.holds import release_hold

    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:5], "request_id": "old"})[0] == 200
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:3], "request_id": "new"})[0] == 200
    hold = admin(daemon, "hold_add", {"name": "delay", "reason": "case 7"})  # every version
    assert hold["version"] is None and hold["placed_by"]
    preview = admin(daemon, "retention_run", {"dry_run": True, "inputs_days": 1})
    assert preview["dry_run"] and preview["inputs_deleted"] == {"delay": 0} and preview["artifacts"]["deleted"] == []
    daemon.stop()
    with open_context(Home(daemon.home)) as ctx:
        ctx.store.execute("UPDATE prediction_log SET logged_at = logged_at - INTERVAL 40 DAY WHERE request_id = 'old'")
        assert prune(ctx, days=30)["inputs_deleted"] == {"delay": 0}  # held
        release_hold(ctx.store, int(hold["hold_id"]), "case closed", "ann")
        result = prune(ctx, days=30)
        assert result["inputs_deleted"] == {"delay": 5}
        left = ctx.store.execute("SELECT request_id, count(*) FROM prediction_inputs__delay GROUP BY ALL")
        assert left == [("new", 3)]
        assert ctx.store.scalar("SELECT count(*) FROM prediction_log WHERE request_id = 'old'") == 5  # kept
        audit = ctx.store.rows("SELECT actor, details->>'days' AS days, before->>'$.inputs.delay' AS deleted "
                               "FROM audit_log WHERE action = 'retention.delete' ORDER BY id")
        assert audit == [{"actor": "vigil-retention", "days": "30", "deleted": "0"},
                         {"actor": "vigil-retention", "days": "30", "deleted": "5"}]


def _canary_traffic(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    from appliance.admin_client import call

    call(str(daemon.home), "promote", {"name": "delay", "version": 2, "alias": "canary", "reason": "try v2",
                                       "percent": 50.0})
    for i in range(400):  # about 1,000 rows per version: score PSI between equal models stays small
        start = (i * 5) % (len(sample_records) - 5)
        status, _ = daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 5]},
                                headers={"X-Routing-Key": f"client-{i}"})
        assert status == 200


CANARY = "[canary]\nmin_seconds = 1\nmin_requests = 10\n[jobs]\ndrift_retrain_windows = 0\n"


def test_a_passing_canary_is_promoted_and_a_failing_one_rolled_back(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]]) -> None:
    daemon = configured_daemon(CANARY)
    _canary_traffic(daemon, sample_records)
    time.sleep(1.1)
    admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    run = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "canary"})["runs"] if r["status"] == "ok"], 30)
    detail = json.loads(run[0]["detail"])
    assert detail["action"] == "promoted" and detail["status"] == "passed", detail["checks"]
    assert {c["check"] for c in detail["checks"]} >= {"latency_p95_ratio", "score_psi", "error_rate_increase"}
    aliases = dict(query_daemon(daemon, "SELECT alias, version FROM aliases WHERE model_name = 'delay'"))
    assert aliases.get("champion") == 2 and "canary" not in aliases
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[1]["version"] == 2


def test_a_failing_canary_is_rolled_back_with_an_alert_and_waits_while_critical(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]]) -> None:
    daemon = configured_daemon(CANARY.replace("min_requests = 10\n", "min_requests = 10\nmax_score_psi = 0.000001\n"
                                              "max_latency_p95_ratio = 0.000001\n"))
    _canary_traffic(daemon, sample_records)
    time.sleep(1.1)
    admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    run = wait_until(lambda: [r for r in admin(daemon, "jobs", {"job": "canary"})["runs"] if r["status"] == "ok"], 30)
    assert json.loads(run[0]["detail"])["action"] == "rolled back"
    aliases = dict(query_daemon(daemon, "SELECT alias, version FROM aliases WHERE model_name = 'delay'"))
    assert aliases == {"champion": 1}
    alerts = admin(daemon, "alerts", {})["alerts"]
    assert [(a["rule"], a["severity"], a["subject"]) for a in alerts] == [("canary-rollback", "critical", "v2")]
    incident = admin(daemon, "incident_show", {"id": 1})
    assert [e["kind"] for e in incident["timeline"]][:3] == ["opened", "alert", "rollback"]
    # a critical incident is open: the release policy refuses a new champion until it is resolved
    refused = admin(daemon, "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "again"})
    assert refused["status"] == "rejected" and refused["decision"] == "failing gates: no_open_incident"
    admin(daemon, "incident_resolve", {"id": 1, "resolution": "v2 stays out"})
    daemon.stop()
    # a canary set before a critical alert opens is not promoted automatically while it is open
    relaxed = configured_daemon(CANARY)
    _canary_traffic(relaxed, sample_records)
    (relaxed.home / "alerts.toml").write_text(
        '[[rule]]\nname = "always"\nmetric = "requests_per_s"\nabove = 0\nseverity = "critical"\n')
    time.sleep(1.1)
    admin(relaxed, "monitor_run", {"names": ["delay"], "window": "1h"})
    run = wait_until(lambda: [r for r in admin(relaxed, "jobs", {"job": "canary"})["runs"]
                         if r["status"] == "ok" and json.loads(r["detail"])["action"] != "rolled back"], 30)
    detail = json.loads(run[0]["detail"])
    assert detail["action"] == "promotion paused" and "always ((model))" in detail["why"]
    assert dict(query_daemon(relaxed, "SELECT alias, version FROM aliases WHERE model_name = 'delay'")) == {
        "champion": 1, "canary": 2}


def test_scheduled_batch_scoring_runs_is_recorded_and_a_failure_alerts(fresh_home: Path, tmp_path: Path,
                                                                       flights_small: Path) -> None:
    import polars as pl

    from appliance.clock import utc_now
    from appliance.home.context import open_context
    from appliance.home import Home

    (fresh_home / "landing").mkdir()
    pl.read_parquet(flights_small).head(300).write_parquet(fresh_home / "landing" / "today.parquet")
    (fresh_home / "vigil.toml").write_text('[jobs.score.delay]\ncron = "0 2 * * *"\n'
                                           'input = "landing/today.parquet"\noutput = "scored/delay-{date}.parquet"\n')

    def backdate() -> None:  # the last scheduled scoring was two days ago: overdue, runs once at start-up
        with open_context(Home(fresh_home)) as ctx:
            ctx.store.execute("UPDATE job_runs SET started_at = started_at - INTERVAL 2 DAY WHERE job = 'score'")
            ctx.store.execute("INSERT INTO job_runs (job, model_name, trigger, started_at, finished_at, status) "
                              "VALUES ('score', 'delay', 'cron', ?, ?, 'ok')", [utc_now() - timedelta(days=2)] * 2)

    def finished() -> list[dict[str, Any]]:
        return [r for r in admin(daemon, "jobs", {"job": "score"})["runs"]
                if r["trigger"] == "startup" and r["status"] in ("ok", "failed")]

    backdate()
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert "score:delay" in [j["job"] for j in admin(daemon, "job_schedule", {})["jobs"]]
        run = wait_until(finished, 60)[0]
        assert run["status"] == "ok", run["error"]
        detail = json.loads(run["detail"]) if isinstance(run["detail"], str) else run["detail"]
        out = fresh_home / "scored" / f"delay-{utc_now():%Y-%m-%d}.parquet"
        assert Path(detail["output"]) == out and (detail["rows"], detail["scored"]) == (300, 300)
        assert pl.read_parquet(out)["batch_id"].unique().to_list() == [detail["batch_id"]]
        assert query_daemon(daemon, "SELECT count(*), min(route) FROM prediction_log WHERE request_id = "
                            f"'{detail['batch_id']}'") == [(300, "batch")]
    finally:
        daemon.stop()
    (fresh_home / "landing" / "today.parquet").unlink()  # the next run finds no input: fails, alerts
    backdate()
    daemon = start_daemon(fresh_home, tmp_path / "daemon2.log")
    try:
        failed = wait_until(lambda: [r for r in finished() if r["status"] == "failed"], 60)
        assert "today.parquet" in failed[0]["error"]
        alerts = wait_until(lambda: admin(daemon, "alerts", {"model": "delay"})["alerts"], 30)
        assert [(a["rule"], a["subject"]) for a in alerts] == [("job-failed", "score")]
    finally:
        daemon.stop()
