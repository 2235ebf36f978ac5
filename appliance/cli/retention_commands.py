"""How `vigil retention run|status` and `vigil holds add|list|release` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json


def _when(value: Any) -> str:
    return str(value or "")[:16]


def show_retention_run(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    verb = "would delete" if result["dry_run"] else "deleted"
    inputs = sum(result["inputs_deleted"].values())
    emit(f"logged inputs before {_when(result['cutoff'])}: {verb} {inputs} rows "
         f"({', '.join(f'{k} {v}' for k, v in result['inputs_deleted'].items()) or 'no models'}); "
         f"rejected request bodies: {result['rejections_deleted']}")
    artifacts = result["artifacts"]["deleted"]
    emit(f"artifacts archived before {_when(result['artifacts']['cutoff'])}: {verb} {len(artifacts)}")
    for a in artifacts:
        emit(f"  {a['sha256'][:12]}  {', '.join(a['versions'])}  archived {_when(a['archived_since'])}  "
             f"{a['bytes']:,} bytes")
    return 0


def show_retention_status(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[v["model_name"], v["version"], v["aliases"] or "", _when(v["archived_since"]) or "live",
             "yes" if v["pending_request"] else "", "held" if v["held"] else "",
             _when(v["artifact_deleted_at"]) or "kept"] for v in result["versions"]]
    emit(table(["model", "version", "aliases", "archived since", "pending request", "hold", "artifact"], rows)
         if rows else "no versions")
    emit(f"artifacts of versions archived longer than {result['artifact_retention_days']} days are deleted; "
         f"logged inputs after {result['retention_days']} days")
    return 0


def show_hold_add(result: Any, args: argparse.Namespace) -> int:
    what = result["model_name"] + ("" if result["version"] is None else f" v{result['version']}")
    emit(to_json(result) if args.json else f"hold {result['hold_id']} placed on {what}: retention keeps its "
         "artifacts and logged inputs until the hold is released")
    return 0


def show_holds(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[h["hold_id"], h["model_name"], "all" if h["version"] is None else h["version"], h["reason"],
             h["placed_by"], _when(h["placed_at"]), f"{h['released_by']} {_when(h['released_at'])}"
             if h["released_at"] else ""] for h in result["holds"]]
    emit(table(["id", "model", "version", "reason", "placed by", "placed", "released"], rows)
         if rows else "no holds")
    return 0


def show_hold_release(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"hold {result['hold_id']} released")
    return 0
