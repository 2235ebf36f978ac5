"""Registering immutable versions, atomically: files by hash, then every row in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.core.blobs import BlobWriter
from appliance.core.records import PRIMARY, NewVersion, SnapshotInfo
from appliance.errors import ArtifactDeleted, NotFound, RegistryError
from appliance.registry.model_card import render_model_card
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def register(store: Store, writer: BlobWriter, new: NewVersion) -> int:
    """Insert the version with its lineage, metrics, comparison, contract and audit row.

    On any failure the transaction rolls back and the files this registration created are removed.
    """
    try:
        with store.transaction():
            number = _insert_all(store, new, writer.home_root)
    except BaseException:
        writer.discard()
        raise
    return number


def _insert_all(store: Store, new: NewVersion, home_root: Any) -> int:
    at, actor = new.created_at, new.actor
    existing = q.model(store, new.model_name)
    if existing is None:
        q.insert_model(store, new.model_name, new.task, new.description, actor, at)
    elif existing["task"] != new.task:  # every version of a model answers the same kind of question
        raise RegistryError(f"model '{new.model_name}' is a {existing['task']} model; this version is {new.task}: "
                            "register it under another model name")
    if not q.snapshot_exists(store, new.snapshot.blob.sha256):
        from appliance.store.datasheet_queries import insert_columns, profile

        q.insert_snapshot(store, _snapshot_row(new.snapshot, at))
        if new.datasheet is not None:  # measured where the version was prepared
            insert_columns(store, new.snapshot.blob.sha256, new.datasheet)
        else:
            profile(store, new.snapshot.blob.sha256, home_root / new.snapshot.blob.relative_path)
    if not q.artifact_exists(store, new.artifact.sha256):
        q.insert_artifact(store, new.artifact.sha256, new.artifact.relative_path, new.artifact.size_bytes, at)
    else:
        from appliance.store.retention_queries import forget_deletion

        forget_deletion(store, new.artifact.sha256)  # the same bytes, deleted by retention, are back
    if new.plan is not None:
        from appliance.plans.storage import record_plan

        record_plan(store, new.artifact.sha256, new.plan)
    number = q.next_version(store, new.model_name)
    card = render_model_card(new, number)
    q.insert_version(store, dict(
        model_name=new.model_name, version=number, origin=new.origin, artifact_sha256=new.artifact.sha256,
        snapshot_id=new.snapshot.blob.sha256, created_by=actor, created_at=at, reason=new.reason,
        model_card=card, **new.lineage,
    ))
    q.insert_metrics(store, new.model_name, number, new.metrics)
    q.insert_importance(store, new.model_name, number, new.importance)
    q.insert_fairness(store, new.model_name, number, new.fairness)
    if new.cost is not None:
        q.insert_cost(store, new.model_name, number, new.cost)
    q.insert_comparison(store, _comparison_row(new, number))
    q.insert_contract(store, new.model_name, number, 1, new.contract, actor, at, "inferred from training data")
    q.insert_audit(store, at, actor, f"version.{new.origin}", new.model_name, number, {
        "artifact_sha256": new.artifact.sha256, "snapshot_id": new.snapshot.blob.sha256,
        "spec_sha256": new.lineage.get("spec_sha256"), "reason": new.reason,
    }, subject=f"version:{new.model_name}/v{number}", before=None,
        after={"artifact_sha256": new.artifact.sha256, "snapshot_id": new.snapshot.blob.sha256}, reason=new.reason)
    return number


def _snapshot_row(snapshot: SnapshotInfo, at: datetime) -> dict[str, Any]:
    return dict(
        snapshot_id=snapshot.blob.sha256, path=snapshot.blob.relative_path, source=snapshot.source,
        row_count=snapshot.row_count, time_column=snapshot.time_column, time_min=snapshot.time_min,
        time_max=snapshot.time_max, size_bytes=snapshot.blob.size_bytes, created_at=at,
    )


def _comparison_row(new: NewVersion, number: int) -> dict[str, Any]:
    c = new.comparison
    status = "compared" if c else ("no_champion" if new.champion_version is None else "not_comparable")
    return dict(
        model_name=new.model_name, version=number, champion_version=new.champion_version,
        metric=c.metric if c else PRIMARY[new.task][0],
        higher_is_better=c.higher_is_better if c else PRIMARY[new.task][1],
        version_value=c.version_value if c else None, champion_value=c.champion_value if c else None,
        difference=c.difference if c else None, ci_low=c.ci_low if c else None,
        ci_high=c.ci_high if c else None, confidence=c.confidence if c else None,
        resamples=c.resamples if c else None, row_count=c.row_count if c else None,
        status=status, note=new.comparison_note,
    )


def require_model(store: Store, model_name: str) -> dict[str, Any]:
    """The model's row, or NotFound naming it."""
    found = q.model(store, model_name)
    if found is None:
        raise NotFound(f"no model named '{model_name}'; list models with `vigil models`")
    return found


def get_version(store: Store, model_name: str, number: int) -> dict[str, Any]:
    found = q.version(store, model_name, number)
    if found is None:
        require_model(store, model_name)
        raise NotFound(f"model '{model_name}' has no version {number}; list them with `vigil versions {model_name}`")
    return found


def servable_version(store: Store, model_name: str, number: int) -> dict[str, Any]:
    """The version's row, refusing a version whose artifact retention has deleted."""
    found = get_version(store, model_name, number)
    require_artifact(found)
    return found


def require_artifact(row: dict[str, Any]) -> None:
    if row.get("artifact_deleted_at") is not None:
        raise ArtifactDeleted(
            f"the artifact of model {row['model_name']} v{row['version']} was deleted by retention on "
            f"{str(row['artifact_deleted_at'])[:19]}; its lineage remains, but it cannot serve again "
            "(retrain, or import the model file again if you kept a copy)")


def list_versions(store: Store, model_name: str) -> list[dict[str, Any]]:
    require_model(store, model_name)
    return q.list_versions(store, model_name)
