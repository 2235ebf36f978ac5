"""Monitoring's operations: drift, outcomes, quality, system, dashboards, the monitor, jobs, batch scoring, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import CONFINED, NO_ARGS, Cli, Declared, OperationSpec, Option, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


def _drift(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.model_drift import check_model_drift

    return check_model_drift(ctx, a["name"], a.get("window", "24h"), version=a.get("version"), actor=a["actor"],
                             reference_window=a.get("reference_window"))


def _outcomes(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.outcomes import outcome_report

    return outcome_report(ctx, a["name"], a.get("window", "7d"), a.get("bucket", "1d"))


def _quality(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.quality import quality_report

    return quality_report(ctx, a["name"], a.get("window", "1h"))


def _system(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.system import system_report

    return system_report(ctx, a["name"], a.get("window", "1h"))


def _dashboard(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.dashboard import dashboard

    return dashboard(ctx, a["name"], a.get("window", "1h"))


def _overview(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.overview import overview

    return overview(ctx)


def _drift_view(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.drift_history import drift_history

    return drift_history(ctx, a["name"])


def _monitor_run(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.monitor import monitor

    return monitor(ctx, a.get("names") or None, window=a.get("window") or ctx.config.jobs.monitor_every,
                   trigger="manual", actor=a["actor"])


def _jobs(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import job_queries as jq

    return {"runs": jq.recent(ctx.store, int(a.get("limit") or 20), a.get("job"))}


def _job_schedule(ctx: AppContext, a: dict[str, Any]) -> Any:
    """The configured schedules; the daemon answers with its scheduler's next runs instead (Service)."""
    jobs = ctx.config.jobs
    rows = [{"job": job, "trigger": f"every {every}", "next_run": None}
            for job, every in (("monitor", jobs.monitor_every), ("rollup", jobs.rollup_every),
                               ("retention", jobs.retention_every))]
    rows += [{"job": f"retrain:{name}", "trigger": f"cron {s.cron}", "next_run": None}
             for name, s in jobs.retrain.items()]
    rows += [{"job": f"score:{name}", "trigger": f"cron {s.cron}", "next_run": None} for name, s in jobs.score.items()]
    if jobs.report_cron:
        rows.append({"job": "report", "trigger": f"cron {jobs.report_cron}", "next_run": None})
    if jobs.export is not None:
        rows.append({"job": "export", "trigger": f"cron {jobs.export.cron}", "next_run": None})
    return {"running": False, "enabled": jobs.enabled, "jobs": rows}


def _score(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.serving.batch_scoring import score_batch

    return score_batch(ctx, a["name"], input_path=a.get("input"), query=a.get("query"),
                       output=output_path(ctx, a["output"]),
                       rejects_path=output_path(ctx, a["rejects"]) if a.get("rejects") else None,
                       version=a.get("version"), actor=a["actor"], replace=False)


def _report(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.reports.writing import default_path, write_report

    out = output_path(ctx, a["out"]) if a.get("out") else default_path(ctx, a["name"])
    return write_report(ctx, a["name"], a.get("window") or "7d", out, trigger="manual", actor=a["actor"])


def _reports(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.reports.writing import list_reports

    return {"reports": list_reports(ctx, a.get("name"), int(a.get("limit") or 50))}


GROUPS = {"monitor": "run the monitoring checks now (what the monitor job does)"}

_WINDOW = opt("window", "how far back to look, e.g. 15m, 24h, 7d")


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
         opt("reference", "without NAME: reference data (.parquet or .csv)", metavar="FILE"),
         opt("current", "without NAME: current data (.parquet or .csv)", metavar="FILE"),
         opt("columns", "without NAME: only these columns (default: all shared)", metavar="A,B")),
        handler="monitoring_commands.drift")),
    "outcomes": OperationSpec(_outcomes, writes=False, args_model="monitoring.Outcomes", role="viewer",
                              cli=_model_window(
        "outcomes", "a model's performance on feedback labels, label coverage and delay",
        opt("bucket", "rolling buckets within the window, e.g. 1h, 1d"))),
    "system": OperationSpec(_system, writes=False, args_model="monitoring.RecentWindow", role="viewer",
                            cli=_model_window(
        "system", "a model's requests/s, client-error rate and latency per minute")),
    "quality": OperationSpec(_quality, writes=False, args_model="monitoring.RecentWindow", role="viewer",
                             cli=_model_window("quality", "data quality of a model's recent traffic")),
    "dashboard": OperationSpec(_dashboard, writes=False, args_model="monitoring.RecentWindow", role="viewer", cli=Cli(
        "dashboard", "latency percentiles, requests per minute and worst drift of a model",
        (arg("name"), opt("window", "how far back, e.g. 1h, 7d")), show="alert_commands.show_dashboard")),
    "overview": OperationSpec(_overview, writes=False, args_model=NO_ARGS, role="viewer"),
    "drift_view": OperationSpec(_drift_view, writes=False, args_model="registry.Model", role="viewer"),
    "monitor_run": OperationSpec(_monitor_run, writes=True, in_daemon="after_monitor",
                                 args_model="monitoring.MonitorRun", role="operator", cli=Cli(
        "monitor run", "check models over the last window and apply the alert rules",
        (arg("names", "models to check (default: every served model)", metavar="NAME"),
         opt("window", "window to check (default: jobs.monitor_every)")), show="alert_commands.show_monitor_run")),
    "jobs": OperationSpec(_jobs, writes=False, args_model="monitoring.Jobs", role="viewer", cli=Cli(
        "jobs", "recent runs of the scheduled jobs",
        (opt("job", "only this job", choices=("monitor", "rollup", "retention", "retrain", "canary")), opt("limit")),
        show="alert_commands.show_jobs")),
    "job_schedule": OperationSpec(_job_schedule, writes=False, in_daemon="schedule", args_model=NO_ARGS,
                                  role="viewer"),
    "score": OperationSpec(_score, writes=True, args_model="monitoring.Score", role="operator", cli=Cli(
        "score", "score a Parquet/CSV file or a DuckDB query with a version (batch)",
        (arg("name"), opt("input", "a Parquet or CSV file"), opt("query", "a DuckDB SELECT"),
         opt("output", f"the scored rows (Parquet): a new file ({CONFINED})"),
         opt("rejects", "rows refused by the contract, with reasons (default: OUTPUT.rejects.parquet); a new file"),
         opt("version", "a version (default: the champion)")), show="datasheet_commands.show_score",
        one_of=("input", "query"))),
    "report": OperationSpec(_report, writes=True, args_model="monitoring.Report", role="operator", cli=Cli(
        "report", "write a model's report over a window as one self-contained HTML file",
        (arg("name"), opt("window", "how far back the report looks, e.g. 24h, 7d, 30d"),
         opt("out", f"the HTML file to write, a new one (default: <home>/reports/NAME-<UTC time>.html; {CONFINED})")),
        show="report_commands.show_report")),
    "reports": OperationSpec(_reports, writes=False, args_model="monitoring.Reports", role="viewer", cli=Cli(
        "reports", "reports written (by `vigil report` and the weekly report job)",
        (opt("name", "only this model's reports", flag="--model", metavar="MODEL"),
         opt("limit", "at most this many, newest first")),
        show="report_commands.show_reports")),
}
