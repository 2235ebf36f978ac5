"""`vigil backup DIR` and `vigil restore DIR`: a consistent copy of a home, taken while the daemon runs.

The store is copied by DuckDB in one transaction (every table, view and sequence as of one moment),
then the home's files: content-addressed artifacts, plans and snapshots, and the configuration. Blob
files are immutable and written before the row that names them commits, so every file the copied
store refers to already exists when the files are copied; the daemon holds its write lock for the
whole backup, so retention cannot delete one in between. `backup.json`, written last, lists every
file with its sha256: a backup without it is incomplete, and restore checks every hash before it
touches the home. The backup carries the audit log's head: `backup.json` names it, and the backup's
`audit-anchors.jsonl` holds the home's signed anchors up to that head (plus one for the head itself
when none anchors it yet), so a restored home verifies against them. Secrets that belong to one machine (`admin.token`) and the running daemon's state
(`daemon.json`) are not copied, nor `exports/` (outputs, not state: it may hold earlier backups). A
backup goes outside the home, or under its `exports/` (where the daemon's callers may write; copy it
off the box from there).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from appliance.clock import utc_now
from appliance.errors import HomeError
from appliance.home import STORE_FILE, Home
from appliance.core.blobs import sha256_file
from appliance.store.audit_anchors import ANCHOR_FILE, write_lines

MANIFEST = "backup.json"
FORMAT = 1
SKIPPED = {"admin.token", "daemon.json", MANIFEST, ANCHOR_FILE}  # the anchors are written, not copied
OUTPUTS = "exports"  # the home's output folder (appliance/access/output_paths.py)


def _home_files(root: Path) -> list[Path]:
    """The home's files a backup carries (relative paths), in a stable order."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0].startswith(STORE_FILE) or relative.name in SKIPPED:
            continue
        if relative.parts[0] == OUTPUTS:
            continue
        if ".staging" in relative.parts or relative.name.startswith("."):
            continue
        found.append(relative)
    return found


def backup(ctx: Any, directory: Path, actor: str) -> dict[str, Any]:
    """Copy the home of `ctx` into the new or empty `directory` (call with writes serialised)."""
    from appliance.store import registry_queries as q
    from appliance.store.backup_queries import copy_database, schema_version

    directory = directory.resolve()
    root = ctx.home.root.resolve()
    outputs = root / OUTPUTS
    if (directory == root or root in directory.parents) and outputs not in directory.parents:
        raise HomeError(f"{directory} is inside the home; back up to a directory outside it, or under {outputs}/")
    if directory.exists() and any(directory.iterdir()):
        raise HomeError(f"{directory} is not empty; back up to a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    started = utc_now()
    audit_head = copy_database(ctx.store, directory / STORE_FILE)
    _write_anchors(ctx.store, directory, audit_head)
    files: dict[str, dict[str, Any]] = {}
    for relative in _home_files(root):
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
        files[relative.as_posix()] = {"sha256": sha256_file(target), "bytes": target.stat().st_size}
    for name in (STORE_FILE, ANCHOR_FILE):
        files[name] = {"sha256": sha256_file(directory / name), "bytes": (directory / name).stat().st_size}
    manifest = {"format": FORMAT, "created_at": started.isoformat(), "created_by": actor, "home": str(root),
                "schema_version": schema_version(ctx.store), "files": files,
                "audit_head": dict(zip(("rows", "last_id", "head"), audit_head))}
    staged = directory / f".{MANIFEST}.partial"
    staged.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(staged, directory / MANIFEST)
    total = sum(f["bytes"] for f in files.values())
    with ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "backup.create", None, None,
                       {"files": len(files), "bytes": total},
                       subject=f"backup:{directory}", after={"directory": str(directory), "files": len(files),
                                                             "store_sha256": files[STORE_FILE]["sha256"]})
    return {"directory": str(directory), "files": len(files), "bytes": total, "created_at": started,
            "schema_version": manifest["schema_version"]}


def _write_anchors(store: Any, directory: Path, audit_head: tuple[int, int | None, str]) -> None:
    """The home's anchor lines up to the copied head, verbatim, and a signed line for that head when
    none records it (a crash left it unanchored, or the home predates anchoring)."""
    rows, last_id, row_hash = audit_head
    lines = store.anchors.lines_up_to(rows)
    if rows and not any(f'"rows":{rows},' in line and f'"head":"{row_hash}"' in line for line in lines):
        lines.append(store.anchors.sign_line(rows, last_id, row_hash))
    write_lines(directory / ANCHOR_FILE, lines)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HomeError(f"{directory} has no {MANIFEST}: not a Vigil backup, or one that did not finish") from None
    except ValueError as e:
        raise HomeError(f"{path} is not valid JSON ({e}); the backup is damaged") from e
    if manifest.get("format") != FORMAT:
        raise HomeError(f"{path} has format {manifest.get('format')}; this Vigil reads format {FORMAT}")
    return dict(manifest)


def verify_backup(directory: Path) -> dict[str, Any]:
    """Check every file of a backup against its manifest; raise naming the first bad one."""
    manifest = read_manifest(directory)
    for relative, expected in manifest["files"].items():
        path = directory / relative
        if not path.is_file():
            raise HomeError(f"backup file {relative} is missing from {directory}; the backup cannot be restored")
        if sha256_file(path) != expected["sha256"]:
            raise HomeError(f"backup file {relative} does not match its recorded sha256; the backup is damaged")
    return manifest


def restore(directory: Path, home: Home, *, replace: bool, token: str | None, os_user: str,
            needed_role: str) -> dict[str, Any]:
    """Make `home` the backed-up home (the daemon must not run). With `replace`, the home's current
    store is kept beside it as `vigil.duckdb.before-restore-<time>`.

    Restoring over a store is an admin's act (`needed_role`: the role `restore` is declared with), checked
    against the store it replaces (the caller's
    token, else their OS account; a refusal is audited there). A backup with no users restored over
    a store with users would drop every user and waive every approval: refused."""
    from appliance.home.context import open_context
    from appliance.registry.audit import verify
    from appliance.store import registry_queries as q

    directory = directory.resolve()
    manifest = verify_backup(directory)
    existing = home.store_path.exists()
    if existing and not replace:
        raise HomeError(f"{home.root} already has a store; pass --replace to restore over it (the current store "
                        "is kept as vigil.duckdb.before-restore-<time>)")
    actor = _authorized_restorer(home, directory, token, os_user, needed_role) if existing else os_user
    home.root.mkdir(parents=True, exist_ok=True)
    kept = None
    if existing:
        kept = home.root / f"{STORE_FILE}.before-restore-{utc_now():%Y%m%dT%H%M%S}"
        os.replace(home.store_path, kept)
        home.root.joinpath(f"{STORE_FILE}.wal").unlink(missing_ok=True)
    anchors = home.root / ANCHOR_FILE
    if anchors.exists():  # they anchor the replaced store; the backup's own anchors come with it
        os.replace(anchors, home.root / f"{ANCHOR_FILE}.before-restore-{utc_now():%Y%m%dT%H%M%S}")
    for relative in manifest["files"]:
        target = home.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.restoring")
        shutil.copy2(directory / relative, staged)
        os.replace(staged, target)
    with open_context(home, check_schema=False) as ctx:
        from appliance.store import migrations

        upgraded = migrations.apply(ctx.store)  # a backup from an older Vigil is brought up to date
        # a backup from before anchoring carries no anchors: its chain is checked, and this restore's
        # audit row starts the anchors
        chain = verify(ctx.store, anchored="audit_head" in manifest)
        with ctx.store.transaction():
            q.insert_audit(ctx.store, utc_now(), actor, "backup.restore", None, None,
                           {"backup_created_at": manifest["created_at"], "files": len(manifest["files"])},
                           subject=f"backup:{directory}", before=None if kept is None else {"kept": kept.name},
                           after={"from": str(directory), "chain_ok": chain["ok"]})
    return {"home": str(home.root), "from": str(directory), "files": len(manifest["files"]),
            "backup_created_at": manifest["created_at"], "schema_version": manifest["schema_version"],
            "migrations_applied": upgraded, "audit_chain_ok": chain["ok"], "audit_problem": chain["problem"],
            "audit_head": manifest.get("audit_head"),
            "previous_store": None if kept is None else str(kept)}


def _authorized_restorer(home: Home, directory: Path, token: str | None, os_user: str, needed_role: str) -> str:
    """The admin restoring over `home`'s store (refusals audited in it); refuses a user-less backup over users."""
    from appliance.access.users import authorize, identify
    from appliance.home.context import open_context
    from appliance.errors import Forbidden
    from appliance.store import user_queries as uq
    from appliance.store.connection import Store

    with open_context(home, check_schema=False) as ctx:
        who = identify(ctx.store, token, os_user)
        authorize(ctx.store, who, "restore", needed_role)
        users_now = uq.active_count(ctx.store)
    with Store.open(directory / STORE_FILE, read_only=True) as backed_up:
        users_then = uq.active_count(backed_up)
    if users_now and not users_then:
        raise Forbidden(f"the backup in {directory} has no users while {home.root} has {users_now}: restoring it "
                        "would drop every user and waive every approval; restore a backup taken after the users "
                        "were added, or restore into a new home")
    return who.name
