"""SQL of the scoring service: the prediction log, per-model typed input tables, feedback, rejections."""

from __future__ import annotations

from pathlib import Path

import json
import re
from datetime import datetime
from typing import Any, Iterable

from appliance.contracts.features import NUMERIC, Feature
from appliance.store.connection import Store

_SAFE = re.compile(r"^[a-z][a-z0-9_]*$")


def inputs_table(model_name: str) -> str:
    """The name of a model's typed input table (model names are restricted to [a-z0-9_-])."""
    name = "prediction_inputs__" + model_name.replace("-", "_")
    if not _SAFE.match(name):
        raise ValueError(f"unsafe table name {name!r}")
    return name


def column_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


LOG_COLUMNS = ("request_id", "row_index", "logged_at", "model_name", "version", "route", "api", "prediction", "score",
               "latency_ms", "flags", "audit_sample", "probabilities", "event_time")


def time_expression(axis: str, alias: str = "p") -> str:
    """The SQL time a row of `prediction_log` (as `alias`) is placed at on a period's axis: its event
    time falling back to its arrival time (`event`), or its arrival time (`arrival`)."""
    if axis == "event":
        return f"coalesce({alias}.event_time, {alias}.logged_at)"
    if axis == "arrival":
        return f"{alias}.logged_at"
    raise ValueError(f"unknown time axis {axis!r}")


def insert_log_file(store: Store, path: Path) -> None:
    """Append a Parquet file of prediction-log rows (columns LOG_COLUMNS), read by DuckDB itself."""
    columns = ", ".join(LOG_COLUMNS)
    store.execute_script(f"INSERT INTO prediction_log ({columns}) SELECT {columns} FROM "
                         f"read_parquet('{_quoted_path(path)}')")


def insert_inputs_file(store: Store, model_name: str, names: list[str], path: Path) -> None:
    """Append a Parquet file of logged inputs (request_id, row_index, then the named features)."""
    columns = ", ".join(column_name(n) for n in ["request_id", "row_index", *names])
    store.execute_script(f"INSERT INTO {inputs_table(model_name)} ({columns}) SELECT {columns} FROM "
                         f"read_parquet('{_quoted_path(path)}')")


def _quoted_path(path: Path) -> str:
    return str(path).replace("'", "''")


def ensure_inputs_table(store: Store, model_name: str, features: Iterable[Feature]) -> None:
    """Create the model's input table, or add columns for features it has not seen yet."""
    table = inputs_table(model_name)
    store.execute_script(
        f"CREATE TABLE IF NOT EXISTS {table} (request_id VARCHAR NOT NULL, row_index INTEGER NOT NULL)"
    )
    present = {r[0] for r in store.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}
    for feature in features:
        if feature.name not in present:
            kind = "DOUBLE" if feature.kind == NUMERIC else "VARCHAR"
            store.execute_script(f"ALTER TABLE {table} ADD COLUMN {column_name(feature.name)} {kind}")


def logged_rows(store: Store, request_ids: list[str]) -> dict[str, tuple[str, int]]:
    """request_id → (model, rows answered) for the ids that were answered (shadow rows excluded)."""
    if not request_ids:
        return {}
    rows = store.execute(
        "SELECT request_id, any_value(model_name), count(*) FROM prediction_log "
        "WHERE request_id IN (SELECT unnest(?::VARCHAR[])) AND route <> 'shadow' GROUP BY request_id",
        [request_ids],
    )
    return {request_id: (model, int(count)) for request_id, model, count in rows}


def answering_classes(store: Store, request_ids: list[str]) -> dict[str, list[str]]:
    """request_id → the classes of the version that answered it (multiclass versions only)."""
    if not request_ids:
        return {}
    rows = store.execute(
        "SELECT p.request_id, any_value(v.classes) FROM prediction_log p JOIN model_versions v "
        "ON v.model_name = p.model_name AND v.version = p.version "
        "WHERE p.request_id IN (SELECT unnest(?::VARCHAR[])) AND p.route <> 'shadow' AND v.classes IS NOT NULL "
        "GROUP BY p.request_id",
        [request_ids],
    )
    return {request_id: list(classes) for request_id, classes in rows}


def existing_labels(store: Store, keys: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    if not keys:
        return {}
    rows = store.execute(
        "SELECT request_id, row_index, label FROM feedback WHERE (request_id, row_index) IN "
        "(SELECT (unnest(?::VARCHAR[]), unnest(?::INTEGER[])))",
        [[k[0] for k in keys], [k[1] for k in keys]],
    )
    return {(r, i): label for r, i, label in rows}


def upsert_label(store: Store, request_id: str, row_index: int, model_name: str, label: str,
                 label_value: float, at: datetime) -> None:
    store.execute(
        "INSERT INTO feedback (request_id, row_index, model_name, label, label_value, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, row_index) DO UPDATE SET "
        "label = excluded.label, label_value = excluded.label_value, received_at = excluded.received_at",
        [request_id, row_index, model_name, label, label_value, at],
    )


def insert_rejection(store: Store, row: dict[str, Any]) -> None:
    store.execute(
        "INSERT INTO rejected_requests VALUES ($request_id, $received_at, $model_name, $api, $status, $reason, "
        "$errors, $body_excerpt)",
        {**row, "errors": json.dumps(row["errors"])},
    )


def api_key_by_hash(store: Store, key_sha256: str) -> dict[str, Any] | None:
    return store.row("SELECT name, rate_per_second FROM api_keys WHERE key_sha256 = ? AND revoked_at IS NULL",
                     [key_sha256])


def insert_api_key(store: Store, name: str, key_sha256: str, rate: float | None, actor: str, at: datetime) -> None:
    store.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)", [name, key_sha256, rate, actor, at])


def revoke_api_key(store: Store, name: str, at: datetime) -> int:
    return len(store.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING name",
                             [at, name]))


def list_api_keys(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT name, rate_per_second, created_by, created_at, revoked_at FROM api_keys ORDER BY name")


def model_labels(store: Store, model_name: str) -> dict[str, Any] | None:
    """A model's task and its versions' positive class (what a binary label means), or None."""
    return store.row("SELECT m.task, any_value(v.positive_class) AS positive FROM models m "
                     "LEFT JOIN model_versions v ON v.model_name = m.name WHERE m.name = ? GROUP BY m.task",
                     [model_name])


def api_key_name_count(store: Store, name: str) -> int:
    """How many keys, active or revoked, carry this name."""
    return int(store.scalar("SELECT count(*) FROM api_keys WHERE name = ?", [name]))


def answered_rows(store: Store, request_id: str) -> list[dict[str, Any]]:
    """The logged rows that answered a request (shadow rows are not answers), in row order."""
    return store.rows("SELECT row_index, logged_at, model_name, version, route, api, prediction, score, "
                      "latency_ms, flags FROM prediction_log WHERE request_id = ? AND route <> 'shadow' "
                      "ORDER BY row_index", [request_id])


def request_inputs(store: Store, model_name: str, request_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a request's logged inputs, in row order."""
    return store.table_params(f"SELECT * FROM {inputs_table(model_name)} WHERE request_id = ? ORDER BY row_index",
                              [request_id])


def recent_inputs(store: Store, model_name: str, since: datetime, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of the inputs the model answered (not as shadow) since `since`, at most `limit`."""
    return store.table_params(
        f"SELECT i.* EXCLUDE (request_id, row_index) FROM {inputs_table(model_name)} i JOIN prediction_log p "
        "USING (request_id, row_index) WHERE p.model_name = ? AND p.route <> 'shadow' AND p.logged_at >= ? LIMIT ?",
        [model_name, since, limit])
