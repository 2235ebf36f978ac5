"""The registry's operations: models, versions, promotion requests, rollback, contracts, holds, datasheets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import NO_ARGS, Cli, Declared, OperationSpec, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


def _models(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.owners import with_owner
    from appliance.store import registry_queries as q

    return with_owner(ctx.config, q.list_models(ctx.store))


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
    from appliance.alerts.owners import owner_label

    return {**found, "classes": row.get("classes"), "cpu_hour_price": price,
            "cost_summary": describe(found["cost"], price), "serving": serving,
            "owner": owner_label(ctx.config, a["name"])}


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


def _request_show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.monitoring.replay import view
    from appliance.release.requests import request_beside_champion

    found = request_beside_champion(ctx, int(a["id"]))
    return {**found, "replay": view(ctx, found)}


def _rollback(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.rollback import roll_back

    return roll_back(ctx, a["name"], to=a.get("to"), actor=a["actor"], reason=a.get("reason", ""))


def _rollback_plan(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.rollback_evidence import plan_with_evidence

    return plan_with_evidence(ctx, a["name"], a.get("to"))


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
    from appliance.access.output_paths import input_path
    from appliance.contracts.validation import validate_frame
    from appliance.registry.contracts import current_contract
    from appliance.training.frames import read_frame

    frame = read_frame(input_path(ctx.home.root, a["file"]))  # through the daemon, never a file of the home
    _, contract = current_contract(ctx.store, a["name"], int(a["version"]))
    return validate_frame(frame, contract).as_dict()


def _hold_add(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import place_hold

    return place_hold(ctx.store, a["name"], a.get("version"), a.get("reason", ""), a["actor"])


def _hold_list(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import list_holds

    return {"holds": list_holds(ctx.store, bool(a.get("all")))}


def _hold_release(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.holds import release_hold

    return release_hold(ctx.store, int(a["id"]), a.get("reason", ""), a["actor"])


def _datasheet(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import datasheet

    return datasheet(ctx, str(a["ref"]), a.get("version"))


def _datasheet_edit(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import edit

    return edit(ctx, str(a["ref"]), a.get("version"), a.get("collection"), a.get("limitations"), a["actor"])


def _datasheet_regenerate(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.registry.datasheets import regenerate

    return regenerate(ctx, a.get("ref"), a["actor"])


_REF = arg("ref", "a snapshot id (8+ characters), or a model NAME followed by VERSION")

GROUPS = {"contract": "export, edit or check a version's data contract",
          "holds": "audit holds: keep a model's artifacts and logged inputs from retention",
          "datasheet": "the datasheet of a dataset snapshot"}

_SHOW = "registry_commands."
COMMANDS: dict[str, Declared] = {
    "models": OperationSpec(_models, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "models", "list models with their aliases", show=_SHOW + "show_models")),
    "versions": OperationSpec(_versions, writes=False, args_model="registry.Model", role="viewer", cli=Cli(
        "versions", "list a model's versions", (arg("name"),), show=_SHOW + "show_versions")),
    "show": OperationSpec(_show, writes=False, args_model="registry.ModelVersion", role="viewer", cli=Cli(
        "show", "a version's lineage, metrics, comparison and contract",
        (arg("name"), arg("version"), opt("card", "print the model card (Markdown)", type=bool)),
        show=_SHOW + "show_version")),
    "promote": OperationSpec(_promote, writes=True, changes_routes=True, in_daemon="replays_request",
                             args_model="registry.Promote", role="operator", cli=Cli(
        "promote", "point an alias (champion, challenger, canary, shadow) at a version",
        (arg("name"), arg("version"), opt("alias", flag="--to", metavar="ALIAS"), opt("reason", required=True),
         opt("percent", "canary only: share of requests it answers (default 10)")), show="release_commands.show_promote")),
    "approve": OperationSpec(_approve, writes=True, changes_routes=True, args_model="registry.Request",
                             role="approver", cli=Cli(
        "approve", "approve a pending promotion request (not your own)", (arg("id"),), show="release_commands.show_decision")),
    "reject": OperationSpec(_reject, writes=True, args_model="registry.Reject", role="approver", cli=Cli(
        "reject", "reject a pending promotion request", (arg("id"), opt("reason", required=True)),
        show="release_commands.show_decision")),
    # expires overdue requests as it lists
    "requests": OperationSpec(_requests, writes=True, read_only_ok=True, args_model="registry.Listing",
                              role="viewer", cli=Cli(
        "requests", "pending promotion requests (--all: every one, with its decision)", (opt("all"),),
        show="release_commands.show_requests")),
    "request_show": OperationSpec(_request_show, writes=False, args_model="registry.Request", role="viewer", cli=Cli(
        "requests show", "a promotion request: its gates, holdout metrics beside the champion's, and what the "
        "candidate would have answered on the champion's last day of traffic (replay evidence)",
        (arg("id", "the request's id (vigil requests --all lists them)"),),
        show="request_commands.show_request")),
    "rollback": OperationSpec(_rollback, writes=True, changes_routes=True, args_model="registry.Rollback",
                              role="operator", cli=Cli(
        "rollback", "point champion back at the last known-good version, after a pre-flight",
        (arg("name"), opt("to", "an earlier champion to roll back to (default: the most recent earlier champion whose "
                                "last time as champion did not end in a rollback); any other version needs "
                                "`vigil promote`"), opt("reason", required=True)),
        show="release_commands.show_rollback")),
    "rollback_plan": OperationSpec(_rollback_plan, writes=False, args_model="registry.RollbackPlan", role="viewer"),
    "contract_export": OperationSpec(_contract_export, writes=False, args_model="registry.ModelVersion",
                                     role="viewer", cli=Cli(
        "contract export", "print the contract as TOML",
        (arg("name"), arg("version"), opt("out", "write to FILE instead of printing", metavar="FILE")),
        show=_SHOW + "show_contract", json=False)),
    "contract_apply": OperationSpec(_contract_apply, writes=True, changes_routes=True, in_daemon="unloads_model",
                                    args_model="registry.ContractApply", role="admin", cli=Cli(
        "contract apply", "store an edited contract (TOML) as the version's new revision",
        (arg("name"), arg("version"), arg("file"), opt("reason")), handler=_SHOW + "apply_contract", json=False)),
    "contract_check": OperationSpec(_contract_check, writes=False, args_model="registry.ContractCheck",
                                    role="viewer", cli=Cli(
        "contract check", "validate a Parquet/CSV file against the contract",
        (arg("name"), arg("version"), arg("file")),
        show=_SHOW + "show_contract_check")),
    "hold_add": OperationSpec(_hold_add, writes=True, args_model="registry.HoldAdd", role="approver", cli=Cli(
        "holds add", "hold a version (or every version of a model)",
        (arg("name"), opt("version", "one version (default: every version of the model)"),
         opt("reason", "the case or ticket the hold is for", required=True)), show="retention_commands.show_hold_add")),
    "hold_list": OperationSpec(_hold_list, writes=False, args_model="registry.Listing", role="viewer", cli=Cli(
        "holds list", "active holds", (opt("all", "released holds too"),), show="retention_commands.show_holds")),
    "hold_release": OperationSpec(_hold_release, writes=True, args_model="registry.HoldRelease", role="admin", cli=Cli(
        "holds release", "release a hold (admin)", (arg("id"), opt("reason", required=True)),
        show="retention_commands.show_hold_release")),
    "datasheet": OperationSpec(_datasheet, writes=False, args_model="registry.Datasheet", role="viewer", cli=Cli(
        "datasheet show", "print a snapshot's datasheet (Markdown)", (_REF, arg("version")),
        show="datasheet_commands.show_datasheet")),
    "datasheet_edit": OperationSpec(_datasheet_edit, writes=True, args_model="registry.DatasheetEdit",
                                    role="operator", cli=Cli(
        "datasheet edit", "record how the data was collected and its known limitations",
        (_REF, arg("version"), opt("collection", "how the data was collected"),
         opt("limitations", "what the data does not cover, or gets wrong")),
        show="datasheet_commands.show_datasheet_edit")),
    "datasheet_regenerate": OperationSpec(_datasheet_regenerate, writes=True,
                                          args_model="registry.DatasheetRegenerate", role="operator", cli=Cli(
        "datasheet regenerate", "measure the column profile again (one snapshot, or all)", (arg("ref"),),
        show="datasheet_commands.show_datasheet_regenerate")),
}
