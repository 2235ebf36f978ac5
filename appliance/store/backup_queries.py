"""SQL of a consistent copy of the store: DuckDB copies every table, view and sequence of the open
database into a new file in one transaction, while the daemon keeps writing."""

from __future__ import annotations

from pathlib import Path

from appliance.store.connection import Store

_ALIAS = "vigil_backup"


def copy_database(store: Store, target: Path) -> tuple[int, int | None, str]:
    """Write the whole store, as of one moment, to the new DuckDB file `target`; returns the copy's
    audit head (row count, last id, last row hash), which the backup's anchors must carry."""
    source = store.scalar("SELECT current_database()")
    quoted = str(target).replace("'", "''")
    store.execute_script(f"ATTACH '{quoted}' AS {_ALIAS}")
    try:
        store.execute_script(f'COPY FROM DATABASE "{source}" TO {_ALIAS}')
        rows, last_id, row_hash = store.execute(
            f"SELECT count(*), max(id), arg_max(row_hash, id) FROM {_ALIAS}.audit_log")[0]
    finally:
        store.execute_script(f"DETACH {_ALIAS}")
    return int(rows), None if last_id is None else int(last_id), row_hash or ""


def schema_version(store: Store) -> int:
    return int(store.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))


def checkpoint(store: Store) -> None:
    """Write the write-ahead log into the database file, so the file is whole on its own (the daemon's
    last act on shutdown)."""
    store.execute_script("CHECKPOINT")
