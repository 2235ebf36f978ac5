"""Monitoring's operations: drift, outcomes, quality, system, dashboards, the monitor, jobs, batch scoring, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.jobs.schedules import JOB_NAMES
from appliance.operations.declaration import CONFINED, NO_ARGS, Cli, Declared, OperationSpec, Option, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


def _drift(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.model_drift import check_model_drift
    from appliance.monitoring.period_choice import recent_period

    period = recent_period(ctx, a["name"], a.get("window", "24h"), a.get("axis"))
    return check_model_drift(ctx, a["name"], period, version=a.get("version"), actor=a["actor"],
                             reference_window=a.get("reference_window"))


def _outcomes(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.outcomes import outcome_report
    from appliance.monitoring.period_choice import recent_period

    from appliance.monitoring.estimation_uses import estimates_beside

    period = recent_period(ctx, a["name"], a.get("window", "7d"), a.get("axis"))
    report = outcome_report(ctx, a["name"], period, a.get("bucket", "1d"))
    report["estimated"] = estimates_beside(ctx, a["name"], period, [int(v) for v in report["versions"]])
    return report


def _quality(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.period_choice import recent_period
    from appliance.monitoring.quality import quality_report

    return quality_report(ctx, a["name"], recent_period(ctx, a["name"], a.get("window", "1h"), a.get("axis")))


def _system(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.system import system_report

    return system_report(ctx, a["name"], a.get("window", "1h"))


def _dashboard(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.dashboard import dashboard

    return dashboard(ctx, a["name"], a.get("window", "1h"))


def _slo(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.slo_view import slo_status

    return slo_status(ctx, a.get("name"))


def _doctor(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.doctor import doctor

    return doctor(ctx)


def _overview(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.overview import overview

    return overview(ctx)


def _drift_view(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.drift_history import drift_history

    return drift_history(ctx, a["name"])


def _estimate(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.estimation.performance import estimate_performance
    from appliance.monitoring.estimation_chunks import chunker
    from appliance.monitoring.past_periods import moment
    from appliance.monitoring.period_choice import given_period, recent_period

    if a.get("start"):
        from appliance.clock import utc_now

        end = moment(a["end"]) if a.get("end") else utc_now()
        period = given_period(ctx, a["name"], moment(a["start"]), end, a.get("axis"))
    else:
        period = recent_period(ctx, a["name"], a.get("window") or "7d", a.get("axis"))
    return estimate_performance(ctx, a["name"], period, version=a.get("version"), chunker=chunker(a.get("chunk")),
                                actor=a["actor"])


def _estimates(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.estimation.stored import stored_estimates
    from appliance.monitoring.past_periods import moment

    return stored_estimates(ctx, a["name"], moment(a["start"]) if a.get("start") else None,
                            moment(a["end"]) if a.get("end") else None, int(a.get("limit") or 20))


def _results(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.stored_results import stored_results

    return stored_results(ctx, a["name"])


def _monitor_run(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.monitor import monitor

    window = a.get("window") or ctx.config.jobs.monitor_every
    if a.get("start") or a.get("end") or a.get("chunk"):
        from appliance.monitoring.past_periods import monitor_past

        return monitor_past(ctx, a.get("names") or None, start=a.get("start"), end=a.get("end"), window=window,
                            chunk=a.get("chunk"), axis=a.get("axis"), actor=a["actor"])
    from appliance.monitoring.slo_alerts import check_slos

    result = monitor(ctx, a.get("names") or None, window=window, trigger="manual", actor=a["actor"], axis=a.get("axis"))
    result["slo"] = check_slos(ctx, names=a.get("names") or None)  # the burn-rate alerts, as the rollup job judges them
    return result


def _jobs(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import job_queries as jq

    return {"runs": jq.recent(ctx.store, int(a.get("limit") or 20), a.get("job"))}


def _job_schedule(ctx: AppContext, a: dict[str, Any]) -> Any:
    """The configured schedules; the daemon answers with its scheduler's next runs instead (Service)."""
    from appliance.jobs.schedules import scheduled

    jobs = ctx.config.jobs
    rows = [{"job": s.job_id, "trigger": s.trigger, "next_run": None} for s in scheduled(jobs)]
    return {"running": False, "enabled": jobs.enabled, "jobs": rows}


def _score(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.serving.batch_scoring import score_batch

    return score_batch(ctx, a["name"], input_path=a.get("input"), query=a.get("query"),
                       output=output_path(ctx, a["output"]),
                       rejects_path=output_path(ctx, a["rejects"]) if a.get("rejects") else None,
                       version=a.get("version"), actor=a["actor"], replace=False,
                       event_time_column=a.get("event_time_column"))


def _history(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.history import history

    return history(ctx, a["name"], input_file=a["input"], output=a.get("output"), labels_file=a.get("labels"),
                   label_column=a.get("label_column"), key=a.get("key"), event_time_column=a.get("event_time_column"),
                   chunk=a.get("chunk") or "1M", version=a.get("version"), actor=a["actor"])


def _report(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.reports.writing import default_path, write_report

    out = output_path(ctx, a["out"]) if a.get("out") else default_path(ctx, a["name"])
    return write_report(ctx, a["name"], a.get("window") or "7d", out, trigger="manual", actor=a["actor"])


def _reports(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.reports.writing import list_reports

    return {"reports": list_reports(ctx, a.get("name"), int(a.get("limit") or 50))}


def _labels_load(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import input_path
    from appliance.serving.label_files import load_labels

    return load_labels(ctx, a.get("name"), input_path(ctx.home.root, a["file"]), a.get("key"), str(a["actor"]))


def _log_import(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import input_path
    from appliance.serving.run_import import import_run

    # through the daemon, never a folder of the home (but exports/)
    return import_run(ctx, input_path(ctx.home.root, a["directory"]), str(a["actor"]))


GROUPS = {"monitor": "run the monitoring checks now (what the monitor job does)",
          "labels": "ground-truth labels from a labelling pipeline's file",
          "log": "the prediction log: a cluster run's scored rows brought home (docs/scaling.md)"}

_WINDOW = opt("window", "how far back to look, e.g. 15m, 24h, 7d")
_AXIS = opt("axis", "select rows by event time (falling back to arrival time) or by arrival time (default: the model's "
                    "monitoring.time_axis)", choices=("event", "arrival"))


def _model_window(command: str, help_text: str, *options: Option) -> Cli:
    """A per-model monitoring command: NAME, --window, and its own options."""
    return Cli(command, help_text, (arg("name"), _WINDOW, *options), show=f"monitoring_commands.show_{command}")


COMMANDS: dict[str, Declared] = {
    "drift": OperationSpec(_drift, writes=True, args_model="monitoring.Drift", role="operator", cli=Cli(
        "drift", "drift of a served model's recent inputs, or between two data files",
        (arg("name", "model: its training rows against its logged requests", required=False),
         opt("window", "with NAME: how far back to look, e.g. 30m, 24h, 7d"),
         opt("version", "with NAME: the version to check (default: the champion)"),
         opt("reference_window", "with NAME: compare with the traffic of the SPAN before the window, not the training "
                                 "rows", metavar="SPAN"),
         opt("axis", "with NAME: select rows by event or arrival time (default: the model's monitoring.time_axis)",
             choices=("event", "arrival")),
         opt("reference", "without NAME: reference data (.parquet or .csv)", metavar="FILE"),
         opt("current", "without NAME: current data (.parquet or .csv)", metavar="FILE"),
         opt("columns", "without NAME: only these columns (default: all shared)", metavar="A,B")),
        handler="monitoring_commands.drift")),
    "outcomes": OperationSpec(_outcomes, writes=False, args_model="monitoring.Outcomes", role="viewer",
                              cli=_model_window(
        "outcomes", "a model's performance on feedback labels, label coverage and delay",
        opt("bucket", "rolling buckets within the window, e.g. 1h, 1d"), _AXIS)),
    "system": OperationSpec(_system, writes=False, args_model="monitoring.RecentWindow", role="viewer",
                            cli=_model_window(
        "system", "a model's requests/s, client-error rate and latency per minute")),
    "quality": OperationSpec(_quality, writes=False, args_model="monitoring.QualityWindow", role="viewer",
                             cli=_model_window("quality", "data quality of a model's recent traffic", _AXIS)),
    "dashboard": OperationSpec(_dashboard, writes=False, args_model="monitoring.RecentWindow", role="viewer", cli=Cli(
        "dashboard", "latency percentiles, requests per minute and worst drift of a model",
        (arg("name"), opt("window", "how far back, e.g. 1h, 7d")), show="monitoring_commands.show_dashboard")),
    "slo": OperationSpec(_slo, writes=False, args_model="monitoring.Slo", role="viewer", cli=Cli(
        "slo", "each objective of a model (or every served model): its value, error budget left, when it runs out, "
        "and the burn rate of every alert window",
        (arg("name", "one model (default: every served model)", required=False),), show="slo_commands.show_slo")),
    "doctor": OperationSpec(_doctor, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "doctor", "what the set-up leaves unanswered: models without an owner, owners or objectives naming no "
        "model (exit 1 when it finds any)", show="slo_commands.show_doctor")),
    "overview": OperationSpec(_overview, writes=False, args_model=NO_ARGS, role="viewer"),
    "drift_view": OperationSpec(_drift_view, writes=False, args_model="registry.Model", role="viewer"),
    "results": OperationSpec(_results, writes=False, args_model="registry.Model", role="viewer", cli=Cli(
        "results", "a model's latest stored drift, quality, outcome and estimate results (reads only; viewer)",
        (arg("name"),), show="monitoring_commands.show_results")),
    "estimate": OperationSpec(_estimate, writes=True, args_model="monitoring.Estimate", role="operator", cli=Cli(
        "estimate", "estimate a model's performance without labels (CBPE, DLE), per chunk, and store it",
        (arg("name"), opt("window", "how far back to look, e.g. 24h, 7d (default 7d)"),
         opt("start", "estimate the past period from this time (a date or ISO time, UTC)", flag="--from", metavar="T"),
         opt("end", "end of the past period, exclusive (default: now)", flag="--to", metavar="T"),
         opt("chunk", "cut the period into chunks: 1d, 1w, 1M (calendar, UTC), rows:N or chunks:N (default: one)",
             metavar="SPEC"),
         opt("axis", "select rows by event time (falling back to arrival time) or by arrival time (default: the "
                     "model's monitoring.time_axis)", choices=("event", "arrival")),
         opt("version", "the version to estimate (default: the champion)")),
        show="estimate_commands.show_estimate")),
    "estimates": OperationSpec(_estimates, writes=False, args_model="monitoring.Estimates", role="viewer", cli=Cli(
        "estimates", "a model's stored performance estimates, beside the realized metric where labels came",
        (arg("name"), opt("start", "only runs overlapping the period from this time", flag="--from", metavar="T"),
         opt("end", "only runs overlapping the period up to this time", flag="--to", metavar="T"),
         opt("limit", "at most this many runs, newest first")),
        show="estimate_commands.show_estimates")),
    "monitor_run": OperationSpec(_monitor_run, writes=True, in_daemon="after_monitor",
                                 args_model="monitoring.MonitorRun", role="operator", cli=Cli(
        "monitor run", "check models over the last window and apply the alert rules, or check a past period",
        (arg("names", "models to check (default: every served model)", metavar="NAME"),
         opt("window", "window to check (default: jobs.monitor_every)"),
         opt("start", "check the past period from this time (a date or ISO time, UTC): each chunk is one stored run; "
                      "only a chunk ending within the last window applies the alert rules", flag="--from",
             metavar="T"),
         opt("end", "end of the past period, exclusive (default: now)", flag="--to", metavar="T"),
         opt("chunk", "cut the period (or the window) into chunks: 1d, 1w, 1M, 1y (calendar, UTC), rows:N or chunks:N",
             metavar="SPEC"),
         _AXIS), show="alert_commands.show_monitor_run")),
    "jobs": OperationSpec(_jobs, writes=False, args_model="monitoring.Jobs", role="viewer", cli=Cli(
        "jobs", "recent runs of the scheduled jobs",
        (opt("job", "only this job", choices=JOB_NAMES), opt("limit")),
        show="alert_commands.show_jobs")),
    "job_schedule": OperationSpec(_job_schedule, writes=False, in_daemon="schedule", args_model=NO_ARGS,
                                  role="viewer"),
    "score": OperationSpec(_score, writes=True, args_model="monitoring.Score", role="operator", cli=Cli(
        "score", "score a Parquet/CSV file or a DuckDB query with a version (batch)",
        (arg("name"), opt("input", "a Parquet (.parquet, .pq) or CSV file"), opt("query", "a DuckDB SELECT"),
         opt("output", f"the scored rows (Parquet): a new file ({CONFINED})"),
         opt("rejects", "rows refused by the contract, with reasons (default: OUTPUT.rejects.parquet); a new file"),
         opt("version", "a version (default: the champion)"),
         opt("event_time_column", "input column holding each row's event time, logged beside its arrival time "
                                  "(default: the model's serving.event_time_column when the input has it)",
             metavar="COL")), show="monitoring_commands.show_score",
        one_of=("input", "query"))),
    "history": OperationSpec(_history, writes=True, args_model="monitoring.History", role="operator", cli=Cli(
        "history", "score a historical file with event times, record its labels, and check drift, data quality and "
                   "realized performance period by period",
        (arg("name"), opt("input", "the historical rows: a Parquet (.parquet, .pq) or CSV file"),
         opt("event_time_column", "column holding each row's event time (default: the model's "
                                  "serving.event_time_column)", metavar="COL"),
         opt("labels", "a label file (Parquet or CSV): row i labels input row i, or rows joined by --key",
             metavar="FILE"),
         opt("label_column", "the label column, of --labels FILE or else of the input (default: label)",
             metavar="COL"),
         opt("key", "a column of both the input and --labels FILE that joins them", metavar="COL"),
         opt("chunk", "periods to check: 1d, 1w, 1M, 1y (calendar, UTC), rows:N or chunks:N", metavar="SPEC"),
         opt("output", f"the scored rows (Parquet), a new file (default: <home>/exports/NAME-history-<UTC>.parquet; "
                       f"{CONFINED})"),
         opt("version", "the version that scores (default: the champion)")),
        show="period_commands.show_history")),
    "report": OperationSpec(_report, writes=True, args_model="monitoring.Report", role="operator", cli=Cli(
        "report", "write a model's report over a window as one self-contained HTML file",
        (arg("name"), opt("window", "how far back the report looks, e.g. 24h, 7d, 30d"),
         opt("out", f"the HTML file to write, a new one (default: <home>/reports/NAME-<UTC time>.html; {CONFINED})")),
        show="report_commands.show_report")),
    "labels_load": OperationSpec(_labels_load, writes=True, args_model="monitoring.LabelsLoad", role="operator", cli=Cli(
        "labels load", "record a Parquet/CSV file of labels in one transaction (all or nothing; idempotent)",
        (arg("file", "columns request_id [row_index] label [event_time], or the key column instead of request_id"),
         opt("name", "the model (default: the one that answered the file's requests)", flag="--model",
             metavar="NAME"),
         opt("key", "request_id, or the input column that names a prediction (default: monitoring.models.NAME."
                    "label_key, else request_id)", metavar="COLUMN")),
        show="label_commands.show_labels_load")),
    # audited; operator, as `vigil score` (it adds rows to the prediction log)
    "log_import": OperationSpec(_log_import, writes=True, args_model="monitoring.LogImport", role="operator", cli=Cli(
        "log import", "bring a cluster run's scored rows into the prediction log (whole or nothing; idempotent)",
        (arg("directory", "the run's directory: its manifest.json and the predictions/ and rejects/ files it lists"),),
        show="run_commands.show_log_import")),
    "reports": OperationSpec(_reports, writes=False, args_model="monitoring.Reports", role="viewer", cli=Cli(
        "reports", "reports written (by `vigil report` and the weekly report job)",
        (opt("name", "only this model's reports", flag="--model", metavar="MODEL"),
         opt("limit", "at most this many, newest first")),
        show="report_commands.show_reports")),
}
