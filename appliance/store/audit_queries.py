"""SQL of the hash-chained audit log: appending a row and recomputing the chain.

The row hash is computed by DuckDB's `sha256` in both places (append and verify), over the same
canonical text, so formatting never differs between writing and checking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appliance.store.connection import Store


@dataclass(frozen=True, slots=True)
class Change:
    """What an audit row changed: its subject, the state before and after (JSON values), and why."""

    subject: str | None = None
    before: Any = None
    after: Any = None
    reason: str | None = None


def _canonical(prev: str, row_id: str, recorded_at: str, actor: str, action: str, model: str, version: str,
               details: str, subject: str, before: str, after: str, reason: str) -> str:
    # The explicit fields (schema 13) are appended as one JSON object, or not at all when all four are
    # NULL (concat_ws skips NULL), so rows sealed before them keep their hash.
    fields = (f"CASE WHEN {subject} IS NULL AND {before} IS NULL AND {after} IS NULL AND {reason} IS NULL "
              f"THEN NULL ELSE json_object('subject', {subject}, 'before', {before}, 'after', {after}, "
              f"'reason', {reason})::VARCHAR END")
    return (f"sha256(concat_ws(chr(31), {prev}, {row_id}::VARCHAR, strftime({recorded_at}, '%Y-%m-%d %H:%M:%S.%f'), "
            f"{actor}, {action}, coalesce({model}, ''), coalesce({version}::VARCHAR, ''), {details}, {fields}))")


_APPEND = (
    "INSERT INTO audit_log (id, recorded_at, actor, action, model_name, version, details, subject, before, after, "
    "reason, prev_hash, row_hash) "
    "SELECT $id, $at, $actor, $action, $model, $version, $details, $subject, $before::JSON, $after::JSON, $reason, "
    "$prev, "
    + _canonical("$prev", "$id", "$at::TIMESTAMP", "$actor", "$action", "$model", "$version::INTEGER", "$details",
                 "$subject::VARCHAR", "$before::JSON", "$after::JSON", "$reason::VARCHAR")
)

_RECOMPUTED = (
    "SELECT id, action, prev_hash, row_hash, coalesce(lag(row_hash) OVER (ORDER BY id), '') AS expected_prev, "
    + _canonical("coalesce(prev_hash, '')", "id", "recorded_at", "actor", "action", "model_name", "version",
                 "details::VARCHAR", "subject", "before", "after", "reason")
    + " AS recomputed FROM audit_log ORDER BY id"
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def append(store: Store, at: datetime, actor: str, action: str, model_name: str | None, number: int | None,
           details: dict[str, Any], change: Change | None = None) -> None:
    """Append one row to the chain, in the mutation's transaction (or its own); the commit anchors the
    new head outside the store (`audit_anchors`)."""
    change = change or Change()
    with store.transaction():
        prev = store.scalar("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1") or ""
        row_id = int(store.scalar("SELECT nextval('audit_log_id')"))
        store.execute(_APPEND, {"id": row_id, "at": at, "actor": actor, "action": action, "model": model_name,
                                "version": number, "details": json.dumps(details, default=str), "prev": prev,
                                "subject": change.subject, "before": _json(change.before),
                                "after": _json(change.after), "reason": change.reason})
        store.audit_added()


def recomputed(store: Store) -> list[tuple[Any, ...]]:
    """(id, action, prev_hash, row_hash, expected_prev, recomputed) for every row, in order."""
    return store.execute(_RECOMPUTED)


EXPORTS = {
    "audit_log": "SELECT * FROM audit_log ORDER BY id",
    "deployments": "SELECT * FROM deployments ORDER BY id",
    "model_versions": "SELECT * EXCLUDE (model_card) FROM model_versions ORDER BY model_name, version",
    "dataset_snapshots": "SELECT * FROM dataset_snapshots",
    "artifacts": "SELECT * FROM artifacts",
    "version_metrics": "SELECT * FROM version_metrics",
    "version_comparisons": "SELECT * FROM version_comparisons",
    "incidents": "SELECT * FROM incidents ORDER BY incident_id",
    "incident_events": "SELECT * FROM incident_events ORDER BY incident_id, at_time",
}


def export(store: Store, directory: str) -> dict[str, int]:
    """Write each audit table as Parquet into `directory` (which exists); returns rows per table."""
    counts = {}
    for name, sql in EXPORTS.items():
        target = f"{directory.rstrip('/')}/{name}.parquet".replace("'", "''")
        store.execute_script(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        counts[name] = int(store.scalar(f"SELECT count(*) FROM ({sql})"))
    return counts
