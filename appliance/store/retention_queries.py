"""SQL of retention: audit holds, the artifacts that may be deleted, and the record of deletions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.store.connection import Store

_HOLD_COLUMNS = ("hold_id, model_name, version, reason, placed_by, placed_at, released_by, released_at, "
                 "release_reason")


def insert_hold(store: Store, model_name: str, version: int | None, reason: str, actor: str, at: datetime) -> int:
    return int(store.scalar("INSERT INTO audit_holds (model_name, version, reason, placed_by, placed_at) "
                            "VALUES (?, ?, ?, ?, ?) RETURNING hold_id", [model_name, version, reason, actor, at]))


def hold(store: Store, hold_id: int) -> dict[str, Any] | None:
    return store.row(f"SELECT {_HOLD_COLUMNS} FROM audit_holds WHERE hold_id = ?", [hold_id])


def holds(store: Store, include_released: bool) -> list[dict[str, Any]]:
    where = "" if include_released else "WHERE released_at IS NULL"
    return store.rows(f"SELECT {_HOLD_COLUMNS} FROM audit_holds {where} ORDER BY hold_id")


def release_hold(store: Store, hold_id: int, actor: str, at: datetime, reason: str) -> None:
    store.execute("UPDATE audit_holds SET released_by = ?, released_at = ?, release_reason = ? WHERE hold_id = ?",
                  [actor, at, reason, hold_id])


def deletable_artifacts(store: Store, cutoff: datetime) -> list[dict[str, Any]]:
    """Artifacts not yet deleted whose every version was archived before `cutoff` and is neither named
    by a pending promotion request nor under an audit hold (`version_retention` says which)."""
    return store.rows(
        """
        SELECT a.sha256, a.path, a.size_bytes,
               list(r.model_name || ' v' || r.version ORDER BY r.model_name, r.version) AS versions,
               max(r.archived_since) AS archived_since
        FROM artifacts a JOIN version_retention r ON r.artifact_sha256 = a.sha256
        WHERE a.sha256 NOT IN (SELECT artifact_sha256 FROM artifact_deletions)
        GROUP BY a.sha256, a.path, a.size_bytes
        HAVING bool_and(r.archived_since IS NOT NULL AND r.archived_since < ? AND NOT r.pending_request AND NOT r.held)
        ORDER BY archived_since, a.sha256
        """, [cutoff])


def plan_files(store: Store, artifact_sha256: str) -> list[str]:
    """The scoring-plan files of an artifact that no other artifact's plan record shares."""
    return [path for (path,) in store.execute(
        "SELECT DISTINCT plan_path FROM scoring_plans p WHERE artifact_sha256 = ? AND NOT EXISTS "
        "(SELECT 1 FROM scoring_plans o WHERE o.plan_path = p.plan_path AND o.artifact_sha256 <> p.artifact_sha256)",
        [artifact_sha256])]


def record_deletion(store: Store, artifact_sha256: str, at: datetime, actor: str, reason: str,
                    files: list[str]) -> None:
    store.execute("DELETE FROM scoring_plans WHERE artifact_sha256 = ?", [artifact_sha256])
    store.execute("INSERT INTO artifact_deletions VALUES (?, ?, ?, ?, ?)",
                  [artifact_sha256, at, actor, reason, json.dumps(files)])


def forget_deletion(store: Store, artifact_sha256: str) -> None:
    store.execute("DELETE FROM artifact_deletions WHERE artifact_sha256 = ?", [artifact_sha256])


def deleted_files(store: Store) -> list[str]:
    """Every file retention deleted (or meant to: a crash between commit and unlink leaves some) that no
    live record uses again (an identical scoring plan can come back with a new version)."""
    live = {path for (path,) in store.execute(
        "SELECT plan_path FROM scoring_plans UNION SELECT path FROM artifacts "
        "WHERE sha256 NOT IN (SELECT artifact_sha256 FROM artifact_deletions)")}
    return [path for (files,) in store.execute("SELECT files FROM artifact_deletions")
            for path in json.loads(files) if path not in live]


def version_retention(store: Store, model_name: str | None) -> list[dict[str, Any]]:
    where = "" if model_name is None else "WHERE model_name = ?"
    return store.rows(f"SELECT * FROM version_retention {where} ORDER BY model_name, version",
                      [] if model_name is None else [model_name])
