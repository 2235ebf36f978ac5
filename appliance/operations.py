"""Every CLI action as a named operation with JSON arguments and a JSON result.

The CLI runs an operation in-process when no daemon runs, and through the daemon's admin API
(`POST /admin/v1/ops/NAME`) when one does; the same code answers both ways.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from appliance.context import AppContext
from appliance.errors import RegistryError
from appliance.jsonable import plain
from appliance.operation_args import administration as administration_args
from appliance.operation_args import monitoring as monitoring_args
from appliance.operation_args import registry as registry_args
from appliance.operation_args.types import Args, NoArgs

if TYPE_CHECKING:
    from appliance.access.users import Identity

Operation = Callable[[AppContext, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class OperationSpec:
    run: Operation
    writes: bool
    changes_routes: bool = False
    read_only_ok: bool = False  # writes only incidentally (housekeeping) and also runs on a read-only store
    args: type[Args] = field(kw_only=True)  # the model its arguments must satisfy (operation_args)


def _models(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import registry_queries as q

    return q.list_models(ctx.store)


def _versions(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.versions import list_versions

    return list_versions(ctx.store, a["name"])


def _show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.details import version_details
    from appliance.training.cost import describe

    from appliance.registry.versions import get_version
    from appliance.serving.engine_report import serving_engine

    found = version_details(ctx.store, a["name"], int(a["version"]))
    price = ctx.config.serving.cpu_hour_price
    row = get_version(ctx.store, a["name"], int(a["version"]))
    serving = serving_engine(ctx, row)
    return {**found, "classes": row.get("classes"), "cpu_hour_price": price,
            "cost_summary": describe(found["cost"], price), "serving": serving}


def _promote(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.requests import request_promotion

    return request_promotion(ctx, a["name"], int(a["version"]), a["alias"], percent=a.get("percent"),
                             reason=a.get("reason", ""), actor=a["actor"])


def _approve(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.requests import approve

    return approve(ctx, int(a["id"]), a["actor"])


def _reject(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.requests import reject

    return reject(ctx, int(a["id"]), a["actor"], a.get("reason", ""))


def _requests(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.requests import list_requests

    return {"requests": list_requests(ctx, bool(a.get("all")))}


def _sql(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store.sql_console import Console, lock_down

    if ctx.console is not None:  # the daemon: JSON text rendered by DuckDB, sent by the admin API as it is
        return ctx.console.run_json(ctx.store, a["query"], ctx.client_gone or (lambda: False))
    if ctx.store.read_only:  # this process owns the database instance: lock all of it down
        lock_down(ctx.store, ctx.config.sql)
    console = Console(ctx.config.sql)
    try:
        return console.run(ctx.store, a["query"]).as_dict()
    finally:
        console.close()


def _spec_file(ctx: AppContext, named: str) -> Path:
    """A training spec the caller names (through the daemon, never a file of the home)."""
    from appliance.access.output_paths import input_path

    return input_path(ctx.home.root, named)


def _train(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.training.spec import load_spec
    from appliance.training.trainer import train_version

    return train_version(ctx, load_spec(_spec_file(ctx, a["spec"])), actor=a["actor"], reason=a.get("reason", "")).as_dict()


def _import(ctx: AppContext, a: dict[str, Any]) -> Any:
    """An import of a skops file, loaded with the type allow-list; trusted imports are `import_trusted`."""
    from appliance.errors import InvalidRequest
    from appliance.registry.importing import import_version
    from appliance.training.spec import load_spec

    if a.get("trust"):
        raise InvalidRequest("'import' loads only safe formats; a trusted import is the admin operation "
                             "'import_trusted'", [{"field": "trust", "problem": "use the operation 'import_trusted'"}])
    return import_version(ctx, a["name"], Path(a["file"]), load_spec(_spec_file(ctx, a["spec"])), actor=a["actor"],
                          reason=a.get("reason", "")).as_dict()


def _import_trusted(ctx: AppContext, a: dict[str, Any]) -> Any:
    """An import of a joblib/pickle (or any skops) file: audited first, loaded and converted in a child process."""
    from appliance.registry.importing import import_version
    from appliance.training.spec import load_spec

    return import_version(ctx, a["name"], Path(a["file"]), load_spec(_spec_file(ctx, a["spec"])), trust=True, actor=a["actor"],
                          reason=a.get("reason", "")).as_dict()


def _code_trust(ctx: AppContext, a: dict[str, Any]) -> Any:
    """Trust the code a spec ships, as the daemon reads it now (the hash an import will be checked against)."""
    from appliance.access.output_paths import input_path
    from appliance.custom_code.bundle import collect
    from appliance.custom_code.trust import trust
    from appliance.errors import SpecError
    from appliance.training.spec import load_spec

    loaded = load_spec(_spec_file(ctx, a["spec"]))
    if not loaded.spec.code.paths:
        raise SpecError(f"{a['spec']} ships no code ([code] paths is empty); nothing to trust")
    bundle = collect(input_path(ctx.home.root, loaded.base_dir), list(loaded.spec.code.paths))
    return trust(ctx.store, bundle, a["actor"], a["reason"])


def _code_revoke(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.custom_code.trust import revoke

    return revoke(ctx.store, a["sha256"], a["actor"], a["reason"])


def _code_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.custom_code.trust import listing

    return {"code": listing(ctx.store)}


def _reproduce(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.training.reproduction import reproduce

    return reproduce(ctx, a["name"], int(a["version"]))


def _contract_export(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.contracts import current_contract

    revision, contract = current_contract(ctx.store, a["name"], int(a["version"]))
    return {"revision": revision, "toml": contract.to_toml()}


def _contract_apply(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.contracts.contract import Contract
    from appliance.registry.contracts import apply_contract

    contract = Contract.from_toml(a["toml"], a.get("source", "contract"))
    revision = apply_contract(ctx.store, a["name"], int(a["version"]), contract, actor=a["actor"], reason=a["reason"])
    return {"revision": revision}


def _contract_check(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.contracts.validation import validate_frame
    from appliance.registry.contracts import current_contract
    from appliance.training.frames import read_frame

    frame = read_frame(Path(a["file"]))
    _, contract = current_contract(ctx.store, a["name"], int(a["version"]))
    return validate_frame(frame, contract).as_dict()


def _migrate_status(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import migrations

    return [{"number": s.number, "name": s.name, "state": s.state, "applied_at": s.applied_at}
            for s in migrations.status(ctx.store)]


def _api_key_add(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.serving.access import create_api_key

    return {"name": a["name"], "key": create_api_key(ctx.store, a["name"], a.get("rate"), a["actor"])}


def _api_key_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import prediction_queries as pq

    return pq.list_api_keys(ctx.store)


def _api_key_revoke(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.serving.access import revoke_api_key

    revoke_api_key(ctx.store, a["name"], a["actor"])
    return {"name": a["name"], "revoked": True}


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


def _monitor_run(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.monitor import monitor

    return monitor(ctx, a.get("names") or None, window=a.get("window") or ctx.config.jobs.monitor_every,
                   trigger="manual", actor=a["actor"])


def _alerts(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.clock import utc_now
    from appliance.store import alert_queries as aq

    return {"alerts": aq.list_alerts(ctx.store, include_resolved=bool(a.get("all")), model_name=a.get("model")),
            "mutes": aq.list_mutes(ctx.store, utc_now())}


def _alert_rules(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.rules import RULES_FILE, load_rules, render_rules

    rules = load_rules(ctx.home.root)
    return {"source": str(ctx.home.root / RULES_FILE) if (ctx.home.root / RULES_FILE).exists() else "built-in",
            "rules": [r.model_dump() for r in rules], "toml": render_rules(rules)}


def _alert_mute(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.muting import mute

    return mute(ctx, a["rule"], a.get("model") or "*", a["duration"], a.get("reason", ""), a["actor"])


def _incidents(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import list_incidents

    return list_incidents(ctx.store, bool(a.get("all")))


def _incident_show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import show

    return show(ctx.store, int(a["id"]))


def _incident_ack(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import acknowledge

    return acknowledge(ctx.store, int(a["id"]), a["actor"])


def _incident_note(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import note

    return note(ctx.store, int(a["id"]), a["actor"], a.get("text", ""))


def _incident_resolve(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import resolve

    return resolve(ctx.store, int(a["id"]), a["actor"], a.get("resolution", ""))


def _incident_postmortem(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import postmortem

    return {"markdown": postmortem(ctx.store, int(a["id"]))}


def _jobs(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store import job_queries as jq

    return {"runs": jq.recent(ctx.store, int(a.get("limit") or 20), a.get("job"))}


def _retrain(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.training.retraining import retrain

    return retrain(ctx, a["name"], trigger="event", reason=a["reason"], actor=a["actor"])


def _dashboard(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.dashboard import dashboard

    return dashboard(ctx, a["name"], a.get("window", "1h"))


def _rollback(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.rollback import roll_back

    return roll_back(ctx, a["name"], to=a.get("to"), actor=a["actor"], reason=a.get("reason", ""))


def _rollback_plan(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.rollback import rollback_plan

    return rollback_plan(ctx, a["name"], a.get("to"))


def _audit_verify(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.audit import verify

    return verify(ctx.store)


def _audit_export(ctx: AppContext, a: dict[str, Any]) -> Any:
    """The audit tables as Parquet (and OpenLineage events) into a directory, refused if it holds any of them."""
    from appliance.access.output_paths import new_files, output_path
    from appliance.store.audit_queries import EXPORTS, export

    directory = output_path(ctx, a["directory"])
    names = [f"{table}.parquet" for table in EXPORTS] + (["openlineage"] if a.get("openlineage") else [])
    with new_files(directory, names) as scratch:
        result: dict[str, Any] = {"directory": str(directory), "rows": export(ctx.store, str(scratch))}
        if a.get("openlineage"):
            from appliance.registry.openlineage import write_events

            result["openlineage_events"] = write_events(ctx.store, scratch)
    return result


def _explain_request(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.explain import explain_request

    return explain_request(ctx, str(a["request_id"]))


def _user_add(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import add_user

    return add_user(ctx.store, a["name"], a["role"], a["actor"])


def _user_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import list_users

    return {"users": list_users(ctx.store)}


def _user_revoke(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import revoke_user

    return revoke_user(ctx.store, a["name"], a["actor"])


def _retention_run(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.jobs.retention import prune

    jobs = ctx.config.jobs
    return prune(ctx, int(a.get("inputs_days") or jobs.retention_days),
                 int(a.get("artifact_days") or jobs.artifact_retention_days), actor=a["actor"],
                 dry_run=bool(a.get("dry_run")))


def _retention_status(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.store.retention_queries import version_retention

    if a.get("name"):
        from appliance.registry.versions import require_model

        require_model(ctx.store, a["name"])
    return {"versions": version_retention(ctx.store, a.get("name")),
            "artifact_retention_days": ctx.config.jobs.artifact_retention_days,
            "retention_days": ctx.config.jobs.retention_days}


def _hold_add(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import place_hold

    return place_hold(ctx.store, a["name"], a.get("version"), a.get("reason", ""), a["actor"])


def _hold_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import list_holds

    return {"holds": list_holds(ctx.store, bool(a.get("all")))}


def _hold_release(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import release_hold

    return release_hold(ctx.store, int(a["id"]), a.get("reason", ""), a["actor"])


def _overview(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.overview import overview

    return overview(ctx)


def _drift_view(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.drift_history import drift_history

    return drift_history(ctx, a["name"])


def _audit_log(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.audit import recent

    return recent(ctx.store, str(a.get("filter") or ""), int(a.get("limit") or 200))


def _request_show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.requests import request_beside_champion

    return request_beside_champion(ctx, int(a["id"]))


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


def _backup(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.backups import backup

    return backup(ctx, output_path(ctx, a["directory"]), a["actor"])


def _export(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.lake_export import export

    return export(ctx, output_path(ctx, a["directory"]), a.get("box"), bool(a.get("full")))


def _keys_init(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.keys import init_key

    return init_key(ctx.home.root)


def _keys_show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.keys import show_key

    return show_key(ctx.home.root)


def _keys_trust(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.keys import trust

    return trust(ctx.store, str(a["name"]), str(a["public_key"]), a["actor"])


def _keys_distrust(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.keys import distrust

    return distrust(ctx.store, str(a["name"]), a["actor"])


def _keys_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.keys import list_keys

    return {"keys": list_keys(ctx.store)}


def _bundle_export(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.bundles.bundle import export_bundle

    return export_bundle(ctx, a["name"], int(a["version"]), output_path(ctx, a["file"]), a["actor"])


def _bundle_import(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.bundles.bundle import import_bundle

    return import_bundle(ctx, Path(a["file"]), a["actor"], a.get("reason") or "")


def _datasheet(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import datasheet

    return datasheet(ctx, str(a["ref"]), a.get("version"))


def _datasheet_edit(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import edit

    return edit(ctx, str(a["ref"]), a.get("version"), a.get("collection"), a.get("limitations"), a["actor"])


def _datasheet_regenerate(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import regenerate

    return regenerate(ctx, a.get("ref"), a["actor"])


def _score(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.batch_scoring import score_batch

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


def _whoami(ctx: AppContext, a: dict[str, Any]) -> Any:
    return {"name": a["actor"], "role": a.get("caller_role"), "identity": a.get("caller_identity")}


OPERATIONS: dict[str, OperationSpec] = {
    "models": OperationSpec(_models, writes=False, args=NoArgs),
    "versions": OperationSpec(_versions, writes=False, args=registry_args.Model),
    "show": OperationSpec(_show, writes=False, args=registry_args.ModelVersion),
    "promote": OperationSpec(_promote, writes=True, changes_routes=True, args=registry_args.Promote),
    "approve": OperationSpec(_approve, writes=True, changes_routes=True, args=registry_args.Request),
    "reject": OperationSpec(_reject, writes=True, args=registry_args.Reject),
    "requests": OperationSpec(_requests, writes=True, read_only_ok=True, args=registry_args.Listing),  # expires overdue requests as it lists
    "sql": OperationSpec(_sql, writes=False, args=administration_args.Sql),
    "train": OperationSpec(_train, writes=True, args=registry_args.Train),
    "import": OperationSpec(_import, writes=True, args=registry_args.Import),
    "import_trusted": OperationSpec(_import_trusted, writes=True, args=registry_args.ImportTrusted),
    "reproduce": OperationSpec(_reproduce, writes=False, args=registry_args.ModelVersion),
    "code_trust": OperationSpec(_code_trust, writes=True, args=registry_args.CodeTrust),
    "code_revoke": OperationSpec(_code_revoke, writes=True, changes_routes=True, args=registry_args.CodeRevoke),
    "code_list": OperationSpec(_code_list, writes=False, args=NoArgs),
    "contract_export": OperationSpec(_contract_export, writes=False, args=registry_args.ModelVersion),
    "contract_apply": OperationSpec(_contract_apply, writes=True, changes_routes=True, args=registry_args.ContractApply),
    "contract_check": OperationSpec(_contract_check, writes=False, args=registry_args.ContractCheck),
    "migrate_status": OperationSpec(_migrate_status, writes=False, args=NoArgs),
    "api_key_add": OperationSpec(_api_key_add, writes=True, changes_routes=True, args=administration_args.ApiKeyAdd),
    "api_key_list": OperationSpec(_api_key_list, writes=False, args=NoArgs),
    "api_key_revoke": OperationSpec(_api_key_revoke, writes=True, changes_routes=True, args=administration_args.ApiKey),
    "drift": OperationSpec(_drift, writes=True, args=monitoring_args.Drift),
    "outcomes": OperationSpec(_outcomes, writes=False, args=monitoring_args.Outcomes),
    "quality": OperationSpec(_quality, writes=False, args=monitoring_args.RecentWindow),
    "system": OperationSpec(_system, writes=False, args=monitoring_args.RecentWindow),
    "monitor_run": OperationSpec(_monitor_run, writes=True, args=monitoring_args.MonitorRun),
    "alerts": OperationSpec(_alerts, writes=False, args=monitoring_args.Alerts),
    "alert_rules": OperationSpec(_alert_rules, writes=False, args=NoArgs),
    "alert_mute": OperationSpec(_alert_mute, writes=True, args=monitoring_args.AlertMute),
    "incidents": OperationSpec(_incidents, writes=False, args=registry_args.Listing),
    "incident_show": OperationSpec(_incident_show, writes=False, args=monitoring_args.Incident),
    "incident_ack": OperationSpec(_incident_ack, writes=True, args=monitoring_args.Incident),
    "incident_note": OperationSpec(_incident_note, writes=True, args=monitoring_args.IncidentNote),
    "incident_resolve": OperationSpec(_incident_resolve, writes=True, args=monitoring_args.IncidentResolve),
    "incident_postmortem": OperationSpec(_incident_postmortem, writes=False, args=monitoring_args.Incident),
    "jobs": OperationSpec(_jobs, writes=False, args=monitoring_args.Jobs),
    "retrain": OperationSpec(_retrain, writes=True, args=monitoring_args.Retrain),
    "dashboard": OperationSpec(_dashboard, writes=False, args=monitoring_args.RecentWindow),
    "rollback": OperationSpec(_rollback, writes=True, changes_routes=True, args=registry_args.Rollback),
    "rollback_plan": OperationSpec(_rollback_plan, writes=False, args=registry_args.RollbackPlan),
    "audit_verify": OperationSpec(_audit_verify, writes=False, args=NoArgs),
    "audit_export": OperationSpec(_audit_export, writes=False, args=administration_args.AuditExport),
    "explain_request": OperationSpec(_explain_request, writes=False, args=administration_args.ExplainRequest),
    "user_add": OperationSpec(_user_add, writes=True, args=administration_args.UserAdd),
    "user_list": OperationSpec(_user_list, writes=False, args=NoArgs),
    "user_revoke": OperationSpec(_user_revoke, writes=True, args=administration_args.User),
    "retention_run": OperationSpec(_retention_run, writes=True, args=administration_args.RetentionRun),
    "retention_status": OperationSpec(_retention_status, writes=False, args=administration_args.RetentionStatus),
    "hold_add": OperationSpec(_hold_add, writes=True, args=registry_args.HoldAdd),
    "hold_list": OperationSpec(_hold_list, writes=False, args=registry_args.Listing),
    "hold_release": OperationSpec(_hold_release, writes=True, args=registry_args.HoldRelease),
    "overview": OperationSpec(_overview, writes=False, args=NoArgs),
    "drift_view": OperationSpec(_drift_view, writes=False, args=registry_args.Model),
    "audit_log": OperationSpec(_audit_log, writes=False, args=administration_args.AuditLog),
    "request_show": OperationSpec(_request_show, writes=False, args=registry_args.Request),
    "job_schedule": OperationSpec(_job_schedule, writes=False, args=NoArgs),
    "backup": OperationSpec(_backup, writes=True, args=administration_args.Backup),
    "export": OperationSpec(_export, writes=False, args=administration_args.Export),
    "keys_init": OperationSpec(_keys_init, writes=False, args=NoArgs),  # writes the key file, not the store
    "keys_show": OperationSpec(_keys_show, writes=False, args=NoArgs),
    "keys_trust": OperationSpec(_keys_trust, writes=True, args=registry_args.KeyTrust),
    "keys_distrust": OperationSpec(_keys_distrust, writes=True, args=registry_args.KeyDistrust),
    "keys_list": OperationSpec(_keys_list, writes=False, args=NoArgs),
    "bundle_export": OperationSpec(_bundle_export, writes=True, args=registry_args.BundleExport),  # audited
    "bundle_import": OperationSpec(_bundle_import, writes=True, args=registry_args.BundleImport),
    "datasheet": OperationSpec(_datasheet, writes=False, args=registry_args.Datasheet),
    "datasheet_edit": OperationSpec(_datasheet_edit, writes=True, args=registry_args.DatasheetEdit),
    "datasheet_regenerate": OperationSpec(_datasheet_regenerate, writes=True, args=registry_args.DatasheetRegenerate),
    "score": OperationSpec(_score, writes=True, args=monitoring_args.Score),
    "report": OperationSpec(_report, writes=True, args=monitoring_args.Report),
    "reports": OperationSpec(_reports, writes=False, args=monitoring_args.Reports),
    "whoami": OperationSpec(_whoami, writes=False, args=NoArgs),  # the daemon queues it as a job instead (Service)
}


def find(name: str) -> OperationSpec:
    found = OPERATIONS.get(name)
    if found is None:
        raise RegistryError(f"unknown operation '{name}'")
    return found


def run_as(ctx: AppContext, name: str, args: dict[str, Any], token: str | None, os_user: str) -> Any:
    """Identify the caller, check their role (a refusal is audited), then run the operation as them:
    the recorded actor is the identified caller, whatever the arguments say."""
    from appliance.access.users import authorize, identify

    find(name)
    who = identify(ctx.store, token, os_user)
    authorize(ctx.store, who, name)
    return run(ctx, name, arguments(name, args, who))


class Checked(dict[str, Any]):
    """Arguments made by `arguments`: checked against the operation's model, with the caller's identity."""


def arguments(name: str, args: dict[str, Any], who: Identity) -> Checked:
    """A client's arguments checked against the operation's model (InvalidRequest naming each bad field),
    defaults filled in, and the caller's identity added: `actor` is `who`, whatever the client sent."""
    from appliance.operation_args import validate

    checked = validate(name, find(name).args, args)
    return Checked({**checked, "actor": who.name, "caller_role": who.role, "caller_identity": who.how})


def run(ctx: AppContext, name: str, args: Checked) -> Any:
    """Run an operation on arguments made by `arguments` (no other dict is taken, so no caller skips the
    check) and return its result as plain JSON values (what the API would send), or as RawJSON text when
    the operation encoded it already (the daemon's console)."""
    from appliance.raw_json import RawJSON

    if not isinstance(args, Checked):
        raise TypeError(f"operations.run('{name}') takes arguments made by operations.arguments")
    result = find(name).run(ctx, args)
    return result if isinstance(result, RawJSON) else json.loads(json.dumps(result, default=plain))
