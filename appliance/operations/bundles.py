"""Bundles' operations: this box's signing key, the keys it trusts, and signed model bundles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import CONFINED, NO_ARGS, Cli, Declared, OperationSpec, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


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


def _plan_export(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import output_path
    from appliance.bundles.plan_export import export_plan

    return export_plan(ctx, a["name"], int(a["version"]), output_path(ctx, a["directory"]), a["actor"])


def _bundle_import(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.access.output_paths import input_path
    from appliance.bundles.bundle import import_bundle

    # through the daemon, never a file of the home (but exports/)
    return import_bundle(ctx, input_path(ctx.home.root, a["file"]), a["actor"], a.get("reason") or "")


GROUPS = {"keys": "this box's signing key, and the keys whose bundles it trusts",
          "bundle": "signed model bundles for boxes without a network",
          "plan": "a version's scoring plan, signed, to score with NumPy elsewhere (docs/scaling.md)"}

_SHOW = "bundle_commands."
COMMANDS: dict[str, Declared] = {
    # writes the key file, not the store
    "keys_init": OperationSpec(_keys_init, writes=False, args_model=NO_ARGS, role="admin", cli=Cli(
        "keys init", "create this box's Ed25519 signing key (once; it never leaves the box)",
        show=_SHOW + "show_key_init")),
    "keys_show": OperationSpec(_keys_show, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "keys show", "this box's public key and key id, to give to boxes that import its bundles",
        show=_SHOW + "show_key")),
    "keys_trust": OperationSpec(_keys_trust, writes=True, args_model="registry.KeyTrust", role="admin", cli=Cli(
        "keys trust", "accept bundles signed by this public key",
        (arg("name"), arg("public_key", "base64, as `vigil keys show` prints it on the exporting box")),
        show=_SHOW + "show_key_trust")),
    "keys_distrust": OperationSpec(_keys_distrust, writes=True, args_model="registry.KeyDistrust", role="admin",
                                   cli=Cli(
        "keys distrust", "stop accepting bundles signed by a key", (arg("name"),), show=_SHOW + "show_key_distrust")),
    "keys_list": OperationSpec(_keys_list, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "keys list", "the trusted keys", show=_SHOW + "show_keys")),
    # audited
    "bundle_export": OperationSpec(_bundle_export, writes=True, args_model="registry.BundleExport", role="operator",
                                   cli=Cli(
        "bundle export", "write a version as one signed file",
        (arg("name"), arg("version"), arg("file", f"a new file, never an existing one ({CONFINED})")),
        show=_SHOW + "show_bundle_export")),
    # audited; operator: the package holds the model's internals (its trees or weights)
    "plan_export": OperationSpec(_plan_export, writes=True, args_model="registry.PlanExport", role="operator",
                                 cli=Cli(
        "plan export", "write a version's scoring plan, contract and lineage as a signed package",
        (arg("name"), arg("version"), arg("directory", f"a new or empty directory ({CONFINED})")),
        show="plan_commands.show_plan_export")),
    "bundle_import": OperationSpec(_bundle_import, writes=True, args_model="registry.BundleImport", role="operator",
                                   cli=Cli(
        "bundle import", "verify a signed bundle and register its version",
        (arg("file"), opt("reason", "why (kept in the lineage and audit log)", default="")),
        show=_SHOW + "show_bundle_import")),
}
