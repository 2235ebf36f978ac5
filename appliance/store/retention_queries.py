"""SQL of retention: audit holds, what may be deleted (logged inputs, rejected bodies, artifacts), and the
record of deletions.

Every deleting statement here excludes what an active hold covers, in the statement itself: a held
version's or model's rows are never selected for deletion, whatever else shares their request ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.store.connection import Store
from appliance.store.prediction_queries import inputs_table

# A prediction-log row `p` under an active hold: on its model, or on its version.
_HELD_ROW = ("EXISTS (SELECT 1 FROM audit_holds h WHERE h.model_name = p.model_name AND h.released_at IS NULL "
             "AND (h.version IS NULL OR h.version = p.version))")

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


def prune_inputs(store: Store, model_name: str, cutoff: datetime, count_only: bool = False) -> int:
    """Delete a model's logged inputs answered before `cutoff` (the prediction_log rows stay).

    Inputs are keyed by request id, and one request's id is on several prediction-log rows: the
    champion's and the shadow's, a reused id answered again later, and any model whose input table
    this one is (names differing only in '-' and '_'). A request's inputs are kept while any of those
    rows is under an active hold or was logged at or after `cutoff`.
    """
    table = inputs_table(model_name)
    if not store.has_table(table):
        return 0
    verb = f"SELECT count(*) FROM {table}" if count_only else f"DELETE FROM {table}"
    rows = store.execute(
        f"{verb} WHERE request_id IN (SELECT p.request_id FROM prediction_log p "
        "WHERE p.model_name = $model AND p.logged_at < $cutoff) "
        "AND request_id NOT IN (SELECT p.request_id FROM prediction_log p "
        "WHERE replace(p.model_name, '-', '_') = replace($model, '-', '_') "
        f"AND (p.logged_at >= $cutoff OR {_HELD_ROW}))" + ("" if count_only else " RETURNING 1"),
        {"model": model_name, "cutoff": cutoff})
    return int(rows[0][0]) if count_only else len(rows)


def prune_rejections(store: Store, cutoff: datetime, count_only: bool = False) -> int:
    """Delete rejected request bodies received before `cutoff`, except those of a model under any active
    hold: a rejection was answered by no version, so a hold on any version of its model keeps it."""
    where = ("WHERE r.received_at < ? AND NOT EXISTS (SELECT 1 FROM audit_holds h "
             "WHERE h.model_name = r.model_name AND h.released_at IS NULL)")
    if count_only:
        return int(store.scalar(f"SELECT count(*) FROM rejected_requests r {where}", [cutoff]))
    return len(store.execute(f"DELETE FROM rejected_requests r {where} RETURNING 1", [cutoff]))


def deletable_artifacts(store: Store, cutoff: datetime, sha256: str | None = None) -> list[dict[str, Any]]:
    """Artifacts not yet deleted whose every version was archived before `cutoff` and is neither named
    by a pending promotion request nor under an audit hold (`version_retention` says which); with
    `sha256`, only that artifact (checked again inside the deleting transaction)."""
    return store.rows(
        """
        SELECT a.sha256, a.path, a.size_bytes,
               list(r.model_name || ' v' || r.version ORDER BY r.model_name, r.version) AS versions,
               max(r.archived_since) AS archived_since
        FROM artifacts a JOIN version_retention r ON r.artifact_sha256 = a.sha256
        WHERE a.sha256 NOT IN (SELECT artifact_sha256 FROM artifact_deletions) AND (CAST(? AS VARCHAR) IS NULL OR a.sha256 = ?)
        GROUP BY a.sha256, a.path, a.size_bytes
        HAVING bool_and(r.archived_since IS NOT NULL AND r.archived_since < ? AND NOT r.pending_request AND NOT r.held)
        ORDER BY archived_since, a.sha256
        """, [sha256, sha256, cutoff])


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
