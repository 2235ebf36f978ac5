"""Training's operations: train, import, reproduce, retrain, and trust in a team's own code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import NO_ARGS, Cli, Declared, LocalCommand, OperationSpec, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


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
    from appliance.training.importing import import_version
    from appliance.training.spec import load_spec

    if a.get("trust"):
        raise InvalidRequest("'import' loads only safe formats; a trusted import is the admin operation "
                             "'import_trusted'", [{"field": "trust", "problem": "use the operation 'import_trusted'"}])
    return import_version(ctx, a["name"], Path(a["file"]), load_spec(_spec_file(ctx, a["spec"])), actor=a["actor"],
                          reason=a.get("reason", "")).as_dict()


def _import_trusted(ctx: AppContext, a: dict[str, Any]) -> Any:
    """An import of a joblib/pickle (or any skops) file: audited first, loaded and converted in a child process."""
    from appliance.training.importing import import_version
    from appliance.training.spec import load_spec

    return import_version(ctx, a["name"], Path(a["file"]), load_spec(_spec_file(ctx, a["spec"])), trust=True, actor=a["actor"],
                          reason=a.get("reason", "")).as_dict()


def _reproduce(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.training.reproduction import reproduce

    return reproduce(ctx, a["name"], int(a["version"]))


def _retrain(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.release.retrain import retrain

    return retrain(ctx, a["name"], trigger="event", reason=a["reason"], actor=a["actor"])


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


GROUPS = {"code": "a team's own code shipped with a spec: its hash, and an admin's trust in it"}

_SPEC = opt("spec", required=True)
COMMANDS: dict[str, Declared] = {
    "train": OperationSpec(_train, writes=True, args_model="registry.Train", role="operator", cli=Cli(
        "train", "train and register a new version from a training spec",
        (opt("spec", "training spec (TOML)", metavar="FILE"), opt("reason", "why this version is trained")),
        handler="training_commands.train")),
    "import": OperationSpec(_import, writes=True, args_model="registry.Import", role="operator", cli=Cli(
        "import", "register a model trained elsewhere (a model file or an MLflow model directory; joblib/pickle with "
                  "--trust, admin only)",
        (arg("name", "model name"),
         arg("file", "model file (.skops; XGBoost .json/.ubj, LightGBM .txt, CatBoost .cbm/.json; .joblib/.pkl/.pickle "
                     "with --trust), or an MLflow model directory (with its MLmodel)"),
         opt("spec", "training spec giving its data and features", metavar="SPEC"),
         opt("trust", "admin only: allow joblib/pickle files, which run code when loaded; audited first, loaded in a "
                      "separate process and stored as skops"),
         opt("reason", "why this version is imported")), handler="training_commands.import_model")),
    # `vigil import --trust` runs it
    "import_trusted": OperationSpec(_import_trusted, writes=True, args_model="registry.ImportTrusted", role="admin"),
    "reproduce": OperationSpec(_reproduce, writes=False, args_model="registry.ModelVersion", role="viewer", cli=Cli(
        "reproduce", "retrain a version from its snapshot and spec; compare predictions", (arg("name"), arg("version")),
        show="training_commands.show_reproduce")),
    "retrain": OperationSpec(_retrain, writes=True, in_daemon="queued_job", args_model="monitoring.Retrain",
                             role="operator", cli=Cli(
        "retrain", "retrain a model from its current spec on fresh data (a new challenger)",
        (arg("name"), opt("reason", "why (kept in the version's lineage and audit log)")),
        show="training_commands.show_retrain")),
    "code_hash": LocalCommand("viewer", Cli(
        "code hash", "the sha256 of the code a spec ships, and its files (to review before trusting)", (_SPEC,),
        handler="code_commands.code_hash", home=False)),
    "code_trust": OperationSpec(_code_trust, writes=True, args_model="registry.CodeTrust", role="admin", cli=Cli(
        "code trust", "trust exactly the code a spec ships now (admin); models using it may be imported and served, "
                      "always in a separate process",
        (_SPEC, opt("reason", "who reviewed it and why it is trusted")), show="code_commands.show_code_trust")),
    "code_list": OperationSpec(_code_list, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "code list", "trusted code archives, with who trusted or revoked them", show="code_commands.show_code_list")),
    "code_revoke": OperationSpec(_code_revoke, writes=True, changes_routes=True, args_model="registry.CodeRevoke",
                                 in_daemon="unloads_listed_models", role="admin", cli=Cli(
        "code revoke", "stop trusting a code archive (admin): models shipping it no longer load",
        (arg("sha256"), opt("reason")), show="code_commands.show_code_revoke")),
}
