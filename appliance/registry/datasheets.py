"""Datasheets: what every dataset snapshot holds — source, time range, rows, each column's type,
missing share, range or categories, the label balance, the versions trained on it — and what people
know about its collection and limitations (free text, edited with `vigil datasheet edit`, audited).

The column profile is measured by DuckDB from the snapshot file when the snapshot is registered,
and again on `vigil datasheet regenerate` (for snapshots registered before datasheets existed)."""

from __future__ import annotations

import json
from typing import Any

from appliance.clock import utc_now
from appliance.errors import NotFound, RegistryError
from appliance.store import datasheet_queries as dq
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def find_snapshot(store: Store, ref: str, version: int | None) -> dict[str, Any]:
    """A snapshot by id (or a unique prefix of 8+ characters), or the one model `ref` version `version` used."""
    if version is not None:
        row = dq.snapshot_of_version(store, ref, version)
        if row is None:
            raise NotFound(f"model '{ref}' has no version {version}; list them with `vigil versions {ref}`")
        return row
    if len(ref) < 8:
        raise RegistryError("give a snapshot id (8 or more of its first characters), or NAME VERSION")
    rows = dq.snapshots_by_prefix(store, ref.lower())
    if len(rows) != 1:
        raise NotFound(f"{'no' if not rows else 'more than one'} snapshot matches '{ref}'; "
                       "`vigil sql \"SELECT snapshot_id, source FROM dataset_snapshots\"` lists them")
    return rows[0]


def datasheet(ctx: Any, ref: str, version: int | None) -> dict[str, Any]:
    snapshot = find_snapshot(ctx.store, ref, version)
    sid = snapshot["snapshot_id"]
    trained = dq.trained_on(ctx.store, sid)
    balance: dict[str, int] = {}
    targets = sorted({t["target"] for t in trained})
    path = ctx.home.root / snapshot["path"]
    if targets and path.exists():
        balance = dict(dq.label_balance(ctx.store, path, targets[0]))
    notes = dq.notes(ctx.store, sid) or {}
    found = {"snapshot": snapshot, "columns": [{**c, "categories": json.loads(c["categories"])
                                                if c["categories"] else None} for c in dq.columns(ctx.store, sid)],
             "target": targets[0] if targets else None, "label_balance": balance, "trained": trained,
             "collection_process": notes.get("collection_process", ""),
             "known_limitations": notes.get("known_limitations", ""),
             "notes_by": notes.get("updated_by"), "notes_at": notes.get("updated_at")}
    return {**found, "markdown": render(found)}


def render(d: dict[str, Any]) -> str:
    s = d["snapshot"]
    lines = [f"# Datasheet: snapshot {s['snapshot_id'][:16]}", "",
             f"- **Source:** `{str(s['source']).strip()}`",
             f"- **Rows:** {s['row_count']}; **time** (`{s['time_column']}`): {s['time_min']} to {s['time_max']}",
             f"- **File:** `{s['path']}` ({s['size_bytes']} bytes), sha256 `{s['snapshot_id']}`",
             f"- **Trained on it:** " + (", ".join(f"{t['model_name']} v{t['version']}" for t in d["trained"])
                                         or "no version yet"), ""]
    if d["label_balance"]:
        total = sum(d["label_balance"].values())
        lines += [f"## Label balance (`{d['target']}`)", ""] + [
            f"- {value}: {n} ({n / total:.1%})" for value, n in d["label_balance"].items()] + [""]
    lines += ["## Columns", "", "| column | type | missing | range or categories |", "|---|---|---:|---|"]
    if not d["columns"]:
        lines.append("| (not profiled yet: `vigil datasheet regenerate`) | | | |")
    for c in d["columns"]:
        if c["categories"]:
            shown = ", ".join(f"{k} ({v})" for k, v in list(c["categories"].items())[:8])
            extra = len(c["categories"]) - 8
            spread = shown + (f", … {extra} more" if extra > 0 else "")
        else:
            spread = f"{c['min_value']} to {c['max_value']}" + (
                f", ~{c['distinct_values']} distinct" if c["column_type"] == "VARCHAR" else "")
        lines.append(f"| {c['column_name']} | {c['column_type']} | {c['missing_share']:.1%} | {spread} |")
    lines += ["", "## Collection process", "", d["collection_process"] or "_Not described yet "
              "(`vigil datasheet edit SNAPSHOT --collection TEXT`)._", "",
              "## Known limitations", "", d["known_limitations"] or "_None recorded yet "
              "(`vigil datasheet edit SNAPSHOT --limitations TEXT`)._", ""]
    if d["notes_by"]:
        lines.append(f"_Notes last edited by {d['notes_by']} at {str(d['notes_at'])[:19]} UTC._")
    return "\n".join(lines) + "\n"


def edit(ctx: Any, ref: str, version: int | None, collection: str | None, limitations: str | None,
         actor: str) -> dict[str, Any]:
    if collection is None and limitations is None:
        raise RegistryError("say what to change: --collection TEXT and/or --limitations TEXT")
    snapshot = find_snapshot(ctx.store, ref, version)
    sid = snapshot["snapshot_id"]
    with ctx.store.transaction():
        before = dq.notes(ctx.store, sid)
        at = utc_now()
        dq.set_notes(ctx.store, sid, collection, limitations, actor, at)
        after = dq.notes(ctx.store, sid)
        q.insert_audit(ctx.store, at, actor, "datasheet.edit", None, None, {"snapshot_id": sid},
                       subject=f"datasheet:{sid}",
                       before=None if before is None else {k: before[k] for k in ("collection_process",
                                                                                   "known_limitations")},
                       after={k: after[k] for k in ("collection_process", "known_limitations")} if after else None)
    return datasheet(ctx, sid, None)


def regenerate(ctx: Any, ref: str | None, actor: str) -> dict[str, Any]:
    """Measure the column profile again, for one snapshot or every snapshot whose file is present."""
    snapshots = [find_snapshot(ctx.store, ref, None)] if ref else dq.all_snapshots(ctx.store)
    done: dict[str, int] = {}
    with ctx.store.transaction():
        for s in snapshots:
            path = ctx.home.root / s["path"]
            if path.exists():
                done[s["snapshot_id"]] = dq.profile(ctx.store, s["snapshot_id"], path)
        q.insert_audit(ctx.store, utc_now(), actor, "datasheet.regenerate", None, None, {"snapshots": len(done)},
                       subject="datasheets", after={"profiled": len(done)})
    return {"profiled": done}
