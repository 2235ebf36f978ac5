"""SQL behind the OpenLineage run events: trained versions with their snapshots, snapshot columns,
and batch scores from the audit log (appliance/registry/openlineage.py)."""

from __future__ import annotations

from typing import Any

from appliance.store.connection import Store

_VERSIONS = (
    "SELECT v.model_name, v.version, v.origin, v.snapshot_id, v.artifact_sha256, v.estimator, v.spec_sha256, "
    "v.created_by, v.created_at, v.retrain_trigger, v.target, d.source, d.row_count, d.time_min, d.time_max "
    "FROM model_versions v JOIN dataset_snapshots d USING (snapshot_id) ORDER BY v.created_at, v.model_name")


def trained_versions(store: Store) -> list[dict[str, Any]]:
    """Every version that has a training snapshot, oldest first, with the snapshot's source and span."""
    return store.rows(_VERSIONS)


def snapshot_columns(store: Store, snapshot_id: str) -> list[dict[str, Any]]:
    """The snapshot's measured columns (name and DuckDB type), by name."""
    return store.rows("SELECT column_name, column_type FROM datasheet_columns WHERE snapshot_id = ? "
                      "ORDER BY column_name", [snapshot_id])


def batch_scores(store: Store) -> list[dict[str, Any]]:
    """Every batch score on record (its audit row, details as JSON text), oldest first."""
    return store.rows("SELECT recorded_at, actor, model_name, version, details::VARCHAR AS details FROM audit_log "
                      "WHERE action = 'batch.score' ORDER BY id")
