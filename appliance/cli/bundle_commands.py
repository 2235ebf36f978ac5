"""How `vigil keys init|show|trust|distrust|list` and `vigil bundle export|import` print their operation's
result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json


def show_key_init(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"signing key created (id {result['key_id']}); its public key, for the "
         f"boxes that will import this box's bundles:\n{result['public_key']}")
    return 0


def show_key(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"{result['public_key']}  (key id {result['key_id']})")
    return 0


def show_key_trust(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"bundles signed by {result['name']} (key id {result['key_id']}) are "
         "now accepted")
    return 0


def show_key_distrust(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"bundles signed by {result['name']} are no longer accepted")
    return 0


def show_keys(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[k["name"], k["key_id"], k["added_by"], str(k["added_at"])[:19], str(k["revoked_at"] or "")[:19]]
            for k in result["keys"]]
    emit(table(["name", "key id", "added by", "added", "distrusted"], rows) if rows else "no trusted keys")
    return 0


def show_bundle_export(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"{result['model']} v{result['version']} written to {result['file']} "
         f"({result['bytes']:,} bytes), signed with key {result['key_id']}")
    return 0


def show_bundle_import(result: Any, args: argparse.Namespace) -> int:
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
