"""`vigil keys init|show|trust|distrust|list` and `vigil bundle export|import`."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.backend import call_object
from appliance.cli.output import emit, table, to_json


def cmd_keys_init(args: argparse.Namespace) -> int:
    result = call_object(args.home, "keys_init", {})
    emit(to_json(result) if args.json else f"signing key created (id {result['key_id']}); its public key, for the "
         f"boxes that will import this box's bundles:\n{result['public_key']}")
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    result = call_object(args.home, "keys_show", {})
    emit(to_json(result) if args.json else f"{result['public_key']}  (key id {result['key_id']})")
    return 0


def cmd_keys_trust(args: argparse.Namespace) -> int:
    result = call_object(args.home, "keys_trust", {"name": args.name, "public_key": args.public_key})
    emit(to_json(result) if args.json else f"bundles signed by {result['name']} (key id {result['key_id']}) are "
         "now accepted")
    return 0


def cmd_keys_distrust(args: argparse.Namespace) -> int:
    result = call_object(args.home, "keys_distrust", {"name": args.name})
    emit(to_json(result) if args.json else f"bundles signed by {result['name']} are no longer accepted")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    result = call_object(args.home, "keys_list", {})
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[k["name"], k["key_id"], k["added_by"], str(k["added_at"])[:19], str(k["revoked_at"] or "")[:19]]
            for k in result["keys"]]
    emit(table(["name", "key id", "added by", "added", "distrusted"], rows) if rows else "no trusted keys")
    return 0


def cmd_bundle_export(args: argparse.Namespace) -> int:
    result = call_object(args.home, "bundle_export", {"name": args.name, "version": args.version,
                                           "file": str(Path(args.file).resolve())})
    emit(to_json(result) if args.json else f"{result['model']} v{result['version']} written to {result['file']} "
         f"({result['bytes']:,} bytes), signed with key {result['key_id']}")
    return 0


def cmd_bundle_import(args: argparse.Namespace) -> int:
    result = call_object(args.home, "bundle_import", {"file": str(Path(args.file).resolve()), "reason": args.reason})
    if args.json:
        emit(to_json(result))
        return 0
    p = result["provenance"]
    if result.get("already_imported"):
        emit(f"{result['model']} v{result['version']} is already {p['box']}'s v{p['original_version']} "
             "(imported before); nothing changed")
        return 0
    emit(f"registered {result['model']} v{result['version']} from {p['box']}'s v{p['original_version']} "
         f"(signed by {p['signer']}, exported {p['exported_at'][:19]}); promote it through this box's gates")
    return 0
