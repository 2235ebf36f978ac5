"""Administration's operations: SQL, API keys, users, the audit log, retention, backups and the lake export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import CONFINED, NO_ARGS, Cli, Declared, OperationSpec, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


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


def _user_add(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import add_user

    return add_user(ctx.store, a["name"], a["role"], a["actor"])


def _user_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import list_users

    return {"users": list_users(ctx.store)}


def _user_revoke(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.users import revoke_user

    return revoke_user(ctx.store, a["name"], a["actor"])


def _whoami(ctx: AppContext, a: dict[str, Any]) -> Any:
    return {"name": a["actor"], "role": a.get("caller_role"), "identity": a.get("caller_identity")}


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


def _audit_log(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.audit import recent

    return recent(ctx.store, str(a.get("filter") or ""), int(a.get("limit") or 200))


def _explain_request(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.training.explain import explain_request

    return explain_request(ctx, str(a["request_id"]))


def _retention_run(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.maintenance.retention import prune

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


def _backup(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.maintenance.backups import backup

    return backup(ctx, output_path(ctx, a["directory"]), a["actor"])


def _export(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.maintenance.lake.export import export

    return export(ctx, output_path(ctx, a["directory"]), a.get("box"), bool(a.get("full")))


GROUPS = {"api-keys": "API keys for scoring clients", "users": "users and roles (viewer, operator, approver, admin)",
          "audit": "the audit log's hash chain",
          "retention": "retention of logged inputs and archived versions' artifacts"}

_KEYS = "access_commands."
_USERS = "access_commands."
_AUDIT = "audit_commands."
COMMANDS: dict[str, Declared] = {
    "sql": OperationSpec(_sql, writes=False, args_model="administration.Sql", role="viewer", cli=Cli(
        "sql", "run one read-only SQL query over the store (limits: [sql] in vigil.toml)",
        (arg("query", "one SELECT (or SHOW, DESCRIBE, EXPLAIN) statement"),
         opt("format", choices=("table", "csv", "json"), default="table")), show="store_commands.show_sql",
        json=False)),
    "migrate_status": OperationSpec(_migrate_status, writes=False, store_to_itself=True, args_model=NO_ARGS,
                                    role="viewer"),
    "api_key_add": OperationSpec(_api_key_add, writes=True, changes_routes=True, args_model="administration.ApiKeyAdd",
                                 role="admin", cli=Cli(
        "api-keys add", "create a key (printed once)",
        (arg("name"), opt("rate", "requests per second allowed (default: no limit)")),
        show=_KEYS + "show_api_key_add")),
    "api_key_list": OperationSpec(_api_key_list, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "api-keys list", "list keys (never the keys themselves)", show=_KEYS + "show_api_keys")),
    "api_key_revoke": OperationSpec(_api_key_revoke, writes=True, changes_routes=True,
                                    args_model="administration.ApiKey", role="admin", cli=Cli(
        "api-keys revoke", "revoke a key", (arg("name"),), show=_KEYS + "show_api_key_revoke", json=False)),
    "user_add": OperationSpec(_user_add, writes=True, args_model="administration.UserAdd", role="admin", cli=Cli(
        "users add", "add a user; prints their token once (a revoked name can be added again, with a new token)",
        (arg("name"), opt("role")), show=_USERS + "show_user_add")),
    "user_list": OperationSpec(_user_list, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "users list", "users, roles, who added them; revoked tokens stay listed", show=_USERS + "show_users")),
    "user_revoke": OperationSpec(_user_revoke, writes=True, args_model="administration.User", role="admin", cli=Cli(
        "users revoke", "revoke a user's token", (arg("name"),), show=_USERS + "show_user_revoke")),
    "whoami": OperationSpec(_whoami, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "whoami", "who Vigil takes you for (your token's user, else the OS account of your uid, never $USER), and your "
                  "role", show=_USERS + "show_whoami")),
    "audit_verify": OperationSpec(_audit_verify, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "audit verify", "recompute the chain; name the first changed, removed or inserted row",
        show=_AUDIT + "show_audit_verify")),
    "audit_export": OperationSpec(_audit_export, writes=False, args_model="administration.AuditExport", role="viewer",
                                  cli=Cli(
        "audit export", "write the audit log, lineage, deployments and incidents as Parquet",
        (arg("directory", f"created if missing; must not hold an earlier export ({CONFINED})"),
         opt("openlineage", "also write OpenLineage run events (snapshot in, version out) to DIR/openlineage/")),
        show=_AUDIT + "show_audit_export")),
    "audit_log": OperationSpec(_audit_log, writes=False, args_model="administration.AuditLog", role="viewer"),
    "explain_request": OperationSpec(_explain_request, writes=False, args_model="administration.ExplainRequest",
                                     role="viewer", cli=Cli(
        "explain-request", "which version answered a request, with what, and does it reproduce", (arg("request_id"),),
        show=_AUDIT + "show_explain_request")),
    "retention_run": OperationSpec(_retention_run, writes=True, args_model="administration.RetentionRun", role="admin",
                                   cli=Cli(
        "retention run", "apply the retention policies now (the daemon's job does it daily)",
        (opt("dry_run", "list what would be deleted; delete nothing"),
         opt("inputs_days", "delete logged inputs older than this (default: jobs.retention_days)"),
         opt("artifact_days", "delete artifacts archived longer than this (default: jobs.artifact_retention_days)")),
        show="retention_commands.show_retention_run")),
    "retention_status": OperationSpec(_retention_status, writes=False, args_model="administration.RetentionStatus",
                                      role="viewer", cli=Cli(
        "retention status", "each version: aliases, archived since, holds, pending requests, deleted", (arg("name"),),
        show="retention_commands.show_retention_status")),
    "backup": OperationSpec(_backup, writes=True, args_model="administration.Backup", role="admin", cli=Cli(
        "backup", "a consistent copy of the home (store and files), also while the daemon runs",
        (arg("directory", f"a new or empty directory outside the home, or under <home>/exports/ ({CONFINED})"),),
        show="store_commands.show_backup")),
    "export": OperationSpec(_export, writes=False, args_model="administration.Export", role="operator", cli=Cli(
        "export", "logs, lineage and audit as partitioned Parquet for a fleet's lake (incremental, each row once even "
                  "after a failed run)",
        (arg("directory", f"where to write (shared by many boxes, e.g. a mounted bucket; {CONFINED})"),
         opt("box", "this box's name in the partitions (default: the host name)"),
         opt("full", "export everything again, replacing this box's files in the directory")),
        show="store_commands.show_export")),
}
