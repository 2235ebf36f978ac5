"""`vigil init`, `vigil migrate` and `vigil restore`, which run in this process on the home's files, and how
`vigil sql`, `vigil backup` and `vigil export` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import csv_text, emit, records, table, to_json
from appliance.home import resolve_home


def init(args: argparse.Namespace) -> int:
    from appliance.home.initialise import initialise

    home = resolve_home(args.home)
    applied = initialise(home)
    emit(f"Vigil home ready at {home.root}")
    emit(f"  store      {home.store_path} ({len(applied)} migration(s) applied)")
    emit(f"  artifacts  {home.artifacts}")
    emit(f"  datasets   {home.datasets}")
    emit(f"  config     {home.config_path}")
    return 0


def migrate(args: argparse.Namespace) -> int:
    from appliance.config import load_config
    from appliance.daemon.discovery import find
    from appliance.errors import StoreInUse
    from appliance.store import migrations
    from appliance.store.connection import Store

    home = resolve_home(args.home).require()
    daemon = find(home)
    if daemon is not None:
        raise StoreInUse(f"the daemon (pid {daemon.pid}) holds the store; stop it, then run `vigil migrate`")
    config = load_config(home.root)
    with Store.open(home.store_path, read_only=args.status, threads=config.store.threads,
                    memory_limit=config.store.memory_limit) as store:
        if args.status:
            states = migrations.status(store)
            rows = [{"number": s.number, "name": s.name, "state": s.state, "applied_at": s.applied_at}
                    for s in states]
            emit(to_json(rows) if args.json else table(["number", "name", "state", "applied_at"],
                                                         [list(r.values()) for r in rows]))
            return 0
        applied = migrations.apply(store)
    if args.json:
        emit(to_json({"applied": applied}))
    else:
        emit("\n".join(f"applied {name}" for name in applied) or "store is up to date")
    return 0


def show_sql(result: Any, args: argparse.Namespace) -> int:
    columns, rows = result["columns"], result["rows"]
    if args.format == "json":
        emit(to_json(records(columns, rows)))
    elif args.format == "csv":
        emit(csv_text(columns, rows))
    else:
        emit(table(columns, rows))
    if result.get("truncated"):  # on stderr, so CSV and JSON output stay whole
        import sys

        sys.stderr.write(f"vigil: truncated: the result has more than {result['max_rows']:,} rows and was cut there "
                         "(sql.max_rows); narrow the query (WHERE, LIMIT, GROUP BY) or raise sql.max_rows\n")
    return 0


def show_backup(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else
         f"backup of {result['files']} files ({result['bytes']:,} bytes, schema {result['schema_version']}) written "
         f"to {result['directory']}; restore it with `vigil restore {result['directory']} --home DIR`")
    return 0


def restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from appliance.maintenance.backups import restore
    from appliance.daemon.discovery import find
    from appliance.errors import StoreInUse
    from appliance.core.identity import current_account

    home = resolve_home(args.home)
    daemon = find(home)
    if daemon is not None:
        raise StoreInUse(f"the daemon (pid {daemon.pid}) runs on {home.root}; stop it, then run `vigil restore`")
    from appliance.admin_client import user_token
    from appliance.operations import required_role

    result = restore(Path(args.directory), home, replace=args.replace, token=user_token(), os_user=current_account(),
                     needed_role=required_role("restore"))
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"restored {result['files']} files from the backup of {result['backup_created_at'][:19]} into {home.root}")
    if result["migrations_applied"]:
        emit(f"  brought up to date: {', '.join(result['migrations_applied'])}")
    if result["previous_store"]:
        emit(f"  the store it replaced is kept as {result['previous_store']}")
    emit("  audit chain " + ("intact" if result["audit_chain_ok"] else "BROKEN: run `vigil audit verify`"))
    return 0


def show_export(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"exported box {result['box']} up to {str(result['until'])[:19]} into {result['directory']}")
    if result["resumed"]:
        emit("  finished an interrupted export: " + ", ".join(f"{t} {n}" for t, n in result["resumed"].items()))
    emit("  new rows: " + ", ".join(f"{table} {n}" for table, n in result["rows"].items()))
    emit("  current state: " + ", ".join(f"{name} {n}" for name, n in result["current_state"].items()))
    return 0
