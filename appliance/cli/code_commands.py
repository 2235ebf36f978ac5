"""`vigil code hash|trust|list|revoke`: the team code a spec ships, and an admin's trust in it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.cli.output import emit, table, to_json


def code_hash(args: argparse.Namespace) -> int:
    """The archive a spec's code makes and its sha256, computed here (no store needed)."""
    from appliance.custom_code.bundle import collect
    from appliance.errors import SpecError
    from appliance.training.spec import load_spec

    loaded = load_spec(Path(args.spec))
    if not loaded.spec.code.paths:
        raise SpecError(f"{args.spec} ships no code ([code] paths is empty)")
    described = collect(loaded.base_dir, list(loaded.spec.code.paths)).describe()
    if args.json:
        emit(to_json(described))
        return 0
    emit(f"sha256 {described['sha256']}  modules: {', '.join(described['modules'])}")
    emit(table(["file", "sha256", "bytes"], [[f["path"], f["sha256"], f["bytes"]] for f in described["files"]]))
    return 0


def show_code_trust(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"trusted code {result['trusted']} ({', '.join(result['modules'])}; "
         f"{len(result['files'])} files): models shipping exactly these bytes may now be imported and served")
    return 0


def show_code_list(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[c["sha256"][:16], ", ".join(c["modules"]), c["trusted_by"], str(c["trusted_at"])[:16], c["reason"],
             f"revoked by {c['revoked_by']}" if c["revoked_at"] else "trusted"] for c in result["code"]]
    emit(table(["sha256", "modules", "trusted by", "at", "reason", "state"], rows) if rows else "no trusted code")
    return 0


def show_code_revoke(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"code {result['revoked']} is no longer trusted: models shipping it "
         "no longer load (a daemon serving one drops it from its routes)")
    return 0
