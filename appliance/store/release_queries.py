"""SQL of the release package: aliases and their history, promotion requests and their evidence.

Only `appliance/release/` calls the statements that write aliases (a test holds it so): every alias
change passes through one door.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def set_alias(store: Store, model_name: str, alias: str, number: int, actor: str, at: datetime,
              percent: float | None) -> None:
    store.execute(
        "INSERT INTO aliases (model_name, alias, version, updated_by, updated_at, traffic_percent) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at, traffic_percent = excluded.traffic_percent",
        [model_name, alias, number, actor, at, percent])


def delete_alias(store: Store, model_name: str, alias: str) -> None:
    store.execute("DELETE FROM aliases WHERE model_name = ? AND alias = ?", [model_name, alias])


def insert_deployment(store: Store, model_name: str, alias: str, from_version: int | None, to_version: int | None,
                      actor: str, at: datetime, reason: str, kind: str) -> None:
    store.execute(
        "INSERT INTO deployments (model_name, alias, from_version, to_version, actor, changed_at, reason, kind) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [model_name, alias, from_version, to_version, actor, at, reason, kind])


def champion_history(store: Store, model_name: str) -> list[dict[str, Any]]:
    """Every change of the model's champion, oldest first."""
    return store.rows("SELECT id, from_version, to_version, kind, actor, changed_at FROM deployments "
                      "WHERE model_name = ? AND alias = 'champion' ORDER BY id", [model_name])


def alias_requester(store: Store, model_name: str, alias: str, version: int) -> str | None:
    """Who asked for the alias's current version: the request that put it there, else the mover."""
    found = store.scalar(
        "SELECT requested_by FROM promotion_requests WHERE model_name = ? AND alias = ? AND version = ? "
        "AND status IN ('applied', 'approved') ORDER BY request_id DESC LIMIT 1", [model_name, alias, version])
    if found is not None:
        return str(found)
    moved = store.scalar("SELECT actor FROM deployments WHERE model_name = ? AND alias = ? AND to_version = ? "
                         "ORDER BY id DESC LIMIT 1", [model_name, alias, version])
    return None if moved is None else str(moved)


def insert_request(store: Store, model_name: str, version: int, alias: str, percent: float | None, reason: str,
                   requested_by: str, at: datetime, expires_at: datetime | None) -> int:
    return int(store.scalar(
        "INSERT INTO promotion_requests (model_name, version, alias, percent, reason, requested_by, requested_at, "
        "status, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'evaluating', ?) RETURNING request_id",
        [model_name, version, alias, percent, reason, requested_by, at, expires_at]))


def insert_evidence(store: Store, request_id: int, gate: str, passed: bool, value: float | None,
                    limit: float | None, detail: str) -> None:
    store.execute("INSERT INTO promotion_evidence VALUES (?, ?, ?, ?, ?, ?)",
                  [request_id, gate, passed, value, limit, detail])


def set_status(store: Store, request_id: int, status: str) -> None:
    store.execute("UPDATE promotion_requests SET status = ? WHERE request_id = ?", [status, request_id])


def decide(store: Store, request_id: int, status: str, actor: str, at: datetime, decision: str) -> None:
    store.execute("UPDATE promotion_requests SET status = ?, decided_by = ?, decided_at = ?, decision = ? "
                  "WHERE request_id = ?", [status, actor, at, decision, request_id])


def request(store: Store, request_id: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM promotion_requests WHERE request_id = ?", [request_id])


def evidence(store: Store, request_id: int) -> list[dict[str, Any]]:
    return store.rows("SELECT gate, passed, value, limit_value, detail FROM promotion_evidence "
                      "WHERE request_id = ? ORDER BY rowid", [request_id])


def pending_request(store: Store, model_name: str, version: int, alias: str) -> int | None:
    found = store.scalar("SELECT request_id FROM promotion_requests WHERE model_name = ? AND version = ? "
                         "AND alias = ? AND status = 'pending' ORDER BY request_id DESC LIMIT 1",
                         [model_name, version, alias])
    return None if found is None else int(found)


def latest_request(store: Store, model_name: str, version: int, alias: str, since: Any) -> dict[str, Any] | None:
    """The most recent request to move `alias` to `version` filed at or after `since`."""
    return store.row("SELECT request_id, status, decision FROM promotion_requests WHERE model_name = ? "
                     "AND version = ? AND alias = ? AND requested_at >= ? ORDER BY request_id DESC LIMIT 1",
                     [model_name, version, alias, since])


def list_requests(store: Store, include_decided: bool) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM promotion_requests WHERE ? OR status = 'pending' "
                      "ORDER BY request_id DESC LIMIT 200", [include_decided])


def overdue_requests(store: Store, now: datetime) -> list[int]:
    return [int(r[0]) for r in store.execute(
        "SELECT request_id FROM promotion_requests WHERE status = 'pending' AND expires_at <= ?", [now])]


def golden_rows(store: Store, model_name: str, version: int, inputs_table: str,
                limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The version's most recent logged answers whose inputs are still kept: inputs, prediction, score."""
    return store.table_params(
        f"SELECT i.* EXCLUDE (request_id, row_index), l.prediction AS logged_prediction, l.score AS logged_score "
        f"FROM prediction_log l JOIN {inputs_table} i USING (request_id, row_index) "
        "WHERE l.model_name = ? AND l.version = ? AND l.route IN ('champion', 'canary') "
        "ORDER BY l.logged_at DESC LIMIT ?", [model_name, version, limit])


def champion_traffic(store: Store, model_name: str, version: int, start: datetime,
                     end: datetime | None) -> dict[str, Any]:
    """What `version` answered as champion from `start` until `end` (None: until now), from the log
    as it is kept: requests, and the 95th percentile of their latency in milliseconds."""
    found = store.row(
        "SELECT count(*) AS requests, quantile_cont(latency_ms, 0.95) AS p95_ms FROM ("
        "SELECT request_id, any_value(latency_ms) AS latency_ms FROM prediction_log "
        "WHERE model_name = ? AND version = ? AND route = 'champion' AND logged_at >= ? "
        "AND (? IS NULL OR logged_at < ?) GROUP BY request_id)", [model_name, version, start, end, end])
    return found or {"requests": 0, "p95_ms": None}


def rejected_between(store: Store, model_name: str, start: datetime, end: datetime | None) -> int:
    """Requests for the model refused by its contract from `start` until `end` (None: until now)."""
    return int(store.scalar("SELECT count(*) FROM rejected_requests WHERE model_name = ? AND received_at >= ? "
                            "AND (? IS NULL OR received_at < ?)", [model_name, start, end, end]))
