"""SQL of replay at approval: the champion's logged answers with their inputs and labels, and the
replay evidence kept per promotion request (written only by the daemon's replay job)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.store import prediction_queries as pq
from appliance.store.connection import Store

# Requests whose candidate would answer traffic: a replay tells the approver what it would have answered.
REPLAYED_ALIASES = ("champion", "canary")

_COLUMNS = ("request_id", "model_name", "candidate_version", "champion_version", "status", "computed_at",
            "window_start", "window_end", "rows_replayed", "rows_skipped", "agreement", "score_psi", "score_ks",
            "labelled_rows", "metric", "candidate_metric", "champion_metric", "detail")


def awaiting(store: Store) -> list[int]:
    """Pending requests for an alias that answers traffic with no replay evidence yet, oldest first."""
    return [int(r[0]) for r in store.execute(
        "SELECT r.request_id FROM promotion_requests r LEFT JOIN replay_evidence e USING (request_id) "
        "WHERE r.status = 'pending' AND r.alias IN (SELECT unnest(?::VARCHAR[])) AND e.request_id IS NULL "
        "ORDER BY r.request_id", [list(REPLAYED_ALIASES)])]


def input_columns(store: Store, model_name: str) -> dict[str, str]:
    """The columns of the model's logged-input table with their SQL types ({} when it has none)."""
    return {str(name): str(kind) for name, kind in store.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND column_name NOT IN ('request_id', 'row_index')", [pq.inputs_table(model_name)])}


def last_logged(store: Store, model_name: str, version: int) -> datetime | None:
    """When the version last answered as champion a row whose inputs are still kept."""
    found = store.scalar(
        f"SELECT max(l.logged_at) FROM prediction_log l JOIN {pq.inputs_table(model_name)} i "
        "USING (request_id, row_index) WHERE l.model_name = ? AND l.version = ? AND l.route = 'champion'",
        [model_name, version])
    return found if isinstance(found, datetime) else None


def logged_count(store: Store, model_name: str, version: int, since: datetime, until: datetime) -> int:
    """How many rows with kept inputs the version answered as champion in [since, until]."""
    return int(store.scalar(
        f"SELECT count(*) FROM prediction_log l JOIN {pq.inputs_table(model_name)} i USING (request_id, row_index) "
        "WHERE l.model_name = ? AND l.version = ? AND l.route = 'champion' AND l.logged_at BETWEEN ? AND ?",
        [model_name, version, since, until]))


def logged_rows(store: Store, model_name: str, version: int, since: datetime, until: datetime,
                features: list[str], limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The most recent (at most `limit`) rows the version answered as champion in [since, until]: the named
    input columns, then what it answered (`(prediction)`, `(score)`, `(probabilities)`), when, and the
    row's label (`(label)`, `(label_value)`; NULL when none came)."""
    selected = "".join(f"i.{pq.column_name(name)}, " for name in features)
    return store.table_params(
        f"SELECT {selected}l.prediction AS \"(prediction)\", l.score AS \"(score)\", "
        "l.probabilities AS \"(probabilities)\", l.logged_at AS \"(logged_at)\", f.label AS \"(label)\", "
        f"f.label_value AS \"(label_value)\" FROM prediction_log l JOIN {pq.inputs_table(model_name)} i "
        "USING (request_id, row_index) LEFT JOIN feedback f USING (request_id, row_index) "
        "WHERE l.model_name = ? AND l.version = ? AND l.route = 'champion' AND l.logged_at BETWEEN ? AND ? "
        "ORDER BY l.logged_at DESC, l.request_id, l.row_index LIMIT ?",
        [model_name, version, since, until, limit])


def insert(store: Store, evidence: dict[str, Any]) -> None:
    """Keep a request's replay evidence (`evidence` holds every column; `detail` is stored as JSON)."""
    values = [json.dumps(evidence["detail"], default=str) if name == "detail" else evidence.get(name)
              for name in _COLUMNS]
    store.execute(f"INSERT INTO replay_evidence ({', '.join(_COLUMNS)}) VALUES "
                  f"({', '.join('?' for _ in _COLUMNS)})", values)


def evidence(store: Store, request_id: int) -> dict[str, Any] | None:
    """A request's replay evidence, or None when none was computed."""
    found = store.row("SELECT * FROM replay_evidence WHERE request_id = ?", [request_id])
    if found is not None and isinstance(found["detail"], str):
        found["detail"] = json.loads(found["detail"])
    return found

