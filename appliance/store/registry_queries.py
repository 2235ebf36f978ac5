"""Every SQL statement of the registry, as named functions with bound parameters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from appliance.store.connection import Store

VERSION_COLUMNS = """
    v.model_name, v.version, v.origin, v.artifact_sha256, a.path AS artifact_path, a.size_bytes AS artifact_bytes,
    v.snapshot_id, d.path AS snapshot_path, d.row_count AS snapshot_rows, d.source AS snapshot_source,
    d.time_min AS snapshot_time_min, d.time_max AS snapshot_time_max,
    v.target, v.positive_class, v.classes, v.threshold, v.features, v.segments, v.time_column, v.holdout_start,
    v.train_rows, v.holdout_rows, v.spec_toml, v.spec_sha256, v.spec_path, v.spec_git_commit,
    v.spec_git_dirty, v.estimator, v.hyperparameters, v.seed, v.environment, v.parent_version,
    v.imported_from, v.retrain_trigger, v.created_by, v.created_at, v.reason, v.model_card, m.task,
    (SELECT x.deleted_at FROM artifact_deletions x WHERE x.artifact_sha256 = v.artifact_sha256) AS artifact_deleted_at
"""
_JSON_FIELDS = ("features", "segments", "hyperparameters", "environment", "imported_from", "contract", "details")


def _decode(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    for key in _JSON_FIELDS:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def model(store: Store, name: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM models WHERE name = ?", [name])


def insert_model(store: Store, name: str, task: str, description: str, actor: str, at: datetime) -> None:
    store.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?)", [name, task, description, actor, at])


def list_models(store: Store) -> list[dict[str, Any]]:
    return store.rows(
        """
        SELECT m.name, m.task, count(v.version) AS versions, max(v.version) AS latest_version,
               (SELECT version FROM aliases a WHERE a.model_name = m.name AND alias = 'champion') AS champion,
               (SELECT version FROM aliases a WHERE a.model_name = m.name AND alias = 'challenger') AS challenger,
               (SELECT version FROM aliases a WHERE a.model_name = m.name AND alias = 'canary') AS canary,
               (SELECT version FROM aliases a WHERE a.model_name = m.name AND alias = 'shadow') AS shadow,
               m.created_at
        FROM models m LEFT JOIN model_versions v ON v.model_name = m.name
        GROUP BY m.name, m.task, m.created_at ORDER BY m.name
        """
    )


def snapshot_exists(store: Store, snapshot_id: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM dataset_snapshots WHERE snapshot_id = ?", [snapshot_id]))


def insert_snapshot(store: Store, snapshot: dict[str, Any]) -> None:
    store.execute(
        "INSERT INTO dataset_snapshots VALUES ($snapshot_id, $path, $source, $row_count, $time_column, "
        "$time_min, $time_max, $size_bytes, $created_at)",
        snapshot,
    )


def artifact_exists(store: Store, sha256: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM artifacts WHERE sha256 = ?", [sha256]))


def insert_artifact(store: Store, sha256: str, path: str, size: int, at: datetime) -> None:
    store.execute("INSERT INTO artifacts VALUES (?, ?, 'skops', ?, ?)", [sha256, path, size, at])


def next_version(store: Store, model_name: str) -> int:
    return int(store.scalar(
        "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE model_name = ?", [model_name]
    ))


def latest_version(store: Store, model_name: str) -> int | None:
    return store.scalar("SELECT max(version) FROM model_versions WHERE model_name = ?", [model_name])


def insert_version(store: Store, row: dict[str, Any]) -> None:
    row = {k: json.dumps(v) if k in _JSON_FIELDS and v is not None else v for k, v in row.items()}
    names = ", ".join(row)
    values = ", ".join(f"${k}" for k in row)
    store.execute(f"INSERT INTO model_versions ({names}) VALUES ({values})", row)


def version(store: Store, model_name: str, number: int) -> dict[str, Any] | None:
    return _decode(store.row(
        f"""SELECT {VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.name = v.model_name
        JOIN artifacts a ON a.sha256 = v.artifact_sha256 JOIN dataset_snapshots d USING (snapshot_id)
        WHERE v.model_name = ? AND v.version = ?""",
        [model_name, number],
    ))


def list_versions(store: Store, model_name: str) -> list[dict[str, Any]]:
    return store.rows(
        """
        SELECT v.version, v.origin, v.estimator, v.created_by, v.created_at, v.parent_version,
               v.snapshot_id, v.train_rows, v.holdout_rows,
               (SELECT string_agg(alias, ',' ORDER BY alias) FROM aliases a
                 WHERE a.model_name = v.model_name AND a.version = v.version) AS aliases,
               (SELECT value FROM version_metrics x WHERE x.model_name = v.model_name AND x.version = v.version
                 AND x.segment_column IS NULL AND x.metric = CASE m.task WHEN 'binary' THEN 'roc_auc' ELSE 'mae' END)
                 AS primary_metric,
               v.reason
        FROM model_versions v JOIN models m ON m.name = v.model_name
        WHERE v.model_name = ? ORDER BY v.version
        """,
        [model_name],
    )


def insert_metrics(store: Store, model_name: str, number: int, rows: Iterable[Any]) -> None:
    # one appender call, not a statement per row: registration runs in the serving daemon after a
    # retrain, and each statement there waits its turn for the interpreter lock
    store.append_rows("version_metrics", None, [
        (model_name, number, r.segment_column, r.segment_value, r.metric, r.value, r.row_count) for r in rows])


def insert_importance(store: Store, model_name: str, number: int, rows: Iterable[Any]) -> None:
    import json

    store.append_rows("feature_importance", None, [
        (model_name, number, r.feature, r.importance, r.std, r.metric, r.repeats, r.rows, json.dumps(r.reference))
        for r in rows])


def insert_fairness(store: Store, model_name: str, number: int, rows: Iterable[Any]) -> None:
    store.append_rows("fairness_metrics", None, [
        (model_name, number, r.attribute, r.group_value, r.metric, r.value, r.row_count, r.min_group_rows)
        for r in rows])


def fairness(store: Store, model_name: str, number: int) -> list[dict[str, Any]]:
    return store.rows("SELECT attribute, group_value, metric, value, row_count, min_group_rows FROM fairness_metrics "
                      "WHERE model_name = ? AND version = ? ORDER BY attribute, group_value NULLS FIRST, metric",
                      [model_name, number])


def insert_cost(store: Store, model_name: str, number: int, cost: dict[str, Any]) -> None:
    store.execute("INSERT INTO version_costs (model_name, version, training_cpu_s, training_wall_s, artifact_bytes, "
                  "memory_bytes, bench_cpu_s_per_1k) VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [model_name, number, cost["training_cpu_s"], cost["training_wall_s"], cost["artifact_bytes"],
                   cost["memory_bytes"], cost["bench_cpu_s_per_1k"]])


def cost(store: Store, model_name: str, number: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM cost WHERE model_name = ? AND version = ?", [model_name, number])


def add_serving_cost(store: Store, model_name: str, number: int, cpu_s: float, rows: int, at: Any) -> None:
    store.execute("UPDATE version_costs SET serving_cpu_s = serving_cpu_s + ?, serving_rows = serving_rows + ?, "
                  "updated_at = ? WHERE model_name = ? AND version = ?", [cpu_s, rows, at, model_name, number])


def importance(store: Store, model_name: str, number: int) -> list[dict[str, Any]]:
    return store.rows("SELECT feature, importance, importance_std, metric, repeats, row_count, reference_value "
                      "FROM feature_importance WHERE model_name = ? AND version = ? "
                      "ORDER BY importance DESC NULLS LAST, feature", [model_name, number])


def metrics(store: Store, model_name: str, number: int) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT segment_column, segment_value, metric, value, row_count FROM version_metrics "
        "WHERE model_name = ? AND version = ? ORDER BY segment_column NULLS FIRST, segment_value, metric",
        [model_name, number],
    )


def overall_metrics(store: Store, model_name: str, number: int) -> dict[str, Any]:
    """metric -> value over the whole holdout (no segment)."""
    rows = store.execute("SELECT metric, value FROM version_metrics WHERE model_name = ? AND version = ? "
                         "AND segment_column IS NULL", [model_name, number])
    return {metric: value for metric, value in rows}


def insert_comparison(store: Store, row: dict[str, Any]) -> None:
    store.execute(
        "INSERT INTO version_comparisons VALUES ($model_name, $version, $champion_version, $metric, "
        "$higher_is_better, $version_value, $champion_value, $difference, $ci_low, $ci_high, $confidence, "
        "$resamples, $row_count, $status, $note)",
        row,
    )


def comparison(store: Store, model_name: str, number: int) -> dict[str, Any] | None:
    return store.row(
        "SELECT * EXCLUDE (model_name, version) FROM version_comparisons WHERE model_name = ? AND version = ?",
        [model_name, number],
    )


def comparison_with(store: Store, model_name: str, number: int, champion: int) -> dict[str, Any] | None:
    """The completed comparison of a version with that champion, made when it was trained."""
    return store.row("SELECT * FROM version_comparisons WHERE model_name = ? AND version = ? "
                     "AND champion_version = ? AND status = 'compared'", [model_name, number, champion])


def insert_contract(store: Store, model_name: str, number: int, revision: int, contract: dict[str, Any],
                    actor: str, at: datetime, reason: str) -> None:
    store.execute(
        "INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?)",
        [model_name, number, revision, json.dumps(contract), actor, at, reason],
    )


def latest_contract(store: Store, model_name: str, number: int) -> dict[str, Any] | None:
    return _decode(store.row(
        "SELECT revision, contract, created_by, created_at, reason FROM contracts "
        "WHERE model_name = ? AND version = ? ORDER BY revision DESC LIMIT 1",
        [model_name, number],
    ))


def bundle_import(store: Store, model_name: str, box: str, original_version: int,
                  original_artifact_sha256: str) -> int | None:
    """The version an earlier import of the same bundled version registered, if any."""
    found = store.scalar(
        "SELECT version FROM model_versions WHERE model_name = ? AND imported_from->>'box' = ? "
        "AND CAST(imported_from->>'original_version' AS INTEGER) = ? "
        "AND imported_from->>'original_artifact_sha256' = ? ORDER BY version LIMIT 1",
        [model_name, box, original_version, original_artifact_sha256])
    return None if found is None else int(found)


def aliases(store: Store, model_name: str) -> dict[str, int]:
    rows = store.execute("SELECT alias, version FROM aliases WHERE model_name = ?", [model_name])
    return {alias: number for alias, number in rows}


def deployments(store: Store, model_name: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT id, alias, from_version, to_version, actor, changed_at, reason FROM deployments "
        "WHERE model_name = ? ORDER BY id",
        [model_name],
    )


def insert_audit(store: Store, at: datetime, actor: str, action: str, model_name: str | None,
                 number: int | None, details: dict[str, Any], *, subject: str | None = None, before: Any = None,
                 after: Any = None, reason: str | None = None) -> None:
    """Append an audit row: `subject` is what changed, `before`/`after` its state (JSON values) and
    `reason` why; `details` carries everything else."""
    from appliance.store.audit_queries import Change, append

    append(store, at, actor, action, model_name, number, details, Change(subject, before, after, reason))


def version_requests(store: Store, model_name: str, number: int) -> list[dict[str, Any]]:
    """The promotion requests filed for a version, oldest first (read for `vigil show`)."""
    return store.rows("SELECT request_id, alias, status, requested_by, requested_at, decided_by, decision "
                      "FROM promotion_requests WHERE model_name = ? AND version = ? ORDER BY request_id",
                      [model_name, number])


def request_gates(store: Store, request_id: int) -> list[dict[str, Any]]:
    """The gate evidence recorded for a promotion request, in the order it was recorded."""
    return store.rows("SELECT gate, passed, value, limit_value, detail FROM promotion_evidence "
                      "WHERE request_id = ? ORDER BY rowid", [request_id])
