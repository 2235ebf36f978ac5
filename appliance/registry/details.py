"""Everything about one version, gathered for `vigil show` (and later the admin API)."""

from __future__ import annotations

from typing import Any

from appliance.registry.contracts import current_contract
from appliance.registry.versions import get_version
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def _requests_with_gates(store: Store, model_name: str, number: int) -> list[dict[str, Any]]:
    requests = q.version_requests(store, model_name, number)
    for request in requests:
        request["gates"] = q.request_gates(store, request["request_id"])
    return requests


def version_details(store: Store, model_name: str, number: int) -> dict[str, Any]:
    row = get_version(store, model_name, number)
    revision, contract = current_contract(store, model_name, number)
    metric_rows = q.metrics(store, model_name, number)
    return {
        "model": model_name, "version": number, "task": row["task"], "origin": row["origin"],
        "aliases": sorted(a for a, v in q.aliases(store, model_name).items() if v == number),
        "created_by": row["created_by"], "created_at": row["created_at"], "reason": row["reason"],
        "parent_version": row["parent_version"], "estimator": row["estimator"],
        "hyperparameters": row["hyperparameters"], "seed": row["seed"],
        "snapshot": {"id": row["snapshot_id"], "sha256": row["snapshot_id"], "rows": row["snapshot_rows"],
                     "time_min": row["snapshot_time_min"], "time_max": row["snapshot_time_max"],
                     "source": row["snapshot_source"], "path": row["snapshot_path"]},
        "target": row["target"], "positive_class": row["positive_class"], "threshold": row["threshold"],
        "features": row["features"], "segments": row["segments"], "time_column": row["time_column"],
        "holdout_start": row["holdout_start"], "train_rows": row["train_rows"], "holdout_rows": row["holdout_rows"],
        "spec_sha256": row["spec_sha256"], "spec_path": row["spec_path"], "spec_git_commit": row["spec_git_commit"],
        "spec_git_dirty": row["spec_git_dirty"], "spec_toml": row["spec_toml"],
        "artifact_sha256": row["artifact_sha256"], "artifact_path": row["artifact_path"],
        "artifact_bytes": row["artifact_bytes"], "environment": row["environment"],
        "imported_from": row["imported_from"], "retrain_trigger": row["retrain_trigger"],
        "metrics": {m["metric"]: m["value"] for m in metric_rows if m["segment_column"] is None},
        "segment_metrics": [m for m in metric_rows if m["segment_column"] is not None],
        "comparison": q.comparison(store, model_name, number),
        "contract_revision": revision, "contract": contract.model_dump(mode="json"),
        "deployments": q.deployments(store, model_name), "model_card": row["model_card"],
        "promotion_requests": _requests_with_gates(store, model_name, number),
        "feature_importance": q.importance(store, model_name, number),
        "fairness": q.fairness(store, model_name, number),
        "cost": q.cost(store, model_name, number),
    }
