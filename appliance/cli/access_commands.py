"""How `vigil users`, `whoami` and `api-keys` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import dict_table, emit, table, to_json


def show_user_add(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    else:
        emit(f"user {result['name']} ({result['role']}) added; their token, shown only now:\n{result['token']}\n"
             "they use it as VIGIL_TOKEN for the CLI, or as 'Authorization: Bearer TOKEN' on the admin API")
    return 0


def show_users(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[u["name"], u["role"], u["created_by"], str(u["created_at"])[:19], str(u["revoked_at"] or "")[:19]]
            for u in result["users"]]
    emit(table(["name", "role", "created by", "created", "revoked"], rows) if rows else
         "no users: everyone on this machine is admin until the first user is added")
    return 0


def show_user_revoke(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"user {result['name']} revoked")
    return 0


def show_whoami(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"{result['name']} ({result['role']}, identified by {result['identity']})")
    return 0


def show_api_key_add(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else
         f"API key '{result['name']}' (shown once; store it now):\n{result['key']}")
    return 0


def show_api_keys(keys: Any, args: argparse.Namespace) -> int:
    emit(to_json(keys) if args.json else
         dict_table(keys, ["name", "rate_per_second", "created_by", "created_at", "revoked_at"]))
    return 0


def show_api_key_revoke(result: Any, args: argparse.Namespace) -> int:
    emit(f"API key '{args.name}' revoked")
    return 0
