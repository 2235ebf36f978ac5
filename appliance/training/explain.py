"""`vigil explain-request ID`: which version answered a logged request, with what inputs and output,
what trained that version — whether recomputing the answer now, with that version's artifact, gives
the same result (so a decision from a month ago can be reproduced, not just looked up) — and each
feature's contribution to it (training/importance.py), computed on demand, never on the scoring path."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json, model_input
from appliance.errors import NotFound
from appliance.registry.loading import load_version_model
from appliance.registry.versions import get_version
from appliance.store import prediction_queries as pq
from appliance.training.evaluation import scores_of
from appliance.training.importance import contributions


def _references(ctx: AppContext, version: dict[str, Any], features: list[Any]) -> dict[str, Any]:
    """The version's stored reference values; for a version registered before they were stored,
    computed now from its training rows (the snapshot before the holdout)."""
    import json

    from appliance.store import registry_queries as q

    stored = {r["feature"]: json.loads(r["reference_value"]) for r in q.importance(ctx.store, version["model_name"],
                                                                                   int(version["version"]))}
    if stored:
        return stored
    from appliance.training.dataset import load_snapshot
    from appliance.training.importance import reference_values

    frame = load_snapshot(ctx.home.root / version["snapshot_path"], version["time_column"])
    return reference_values(frame.filter(pl.col(version["time_column"]) < version["holdout_start"]), features)


def _recomputed(task: str, scores: Any, logged: dict[str, Any]) -> float:
    """The recomputed value the log kept: a multiclass row's probability of its logged class."""
    if task == "multiclass":
        return float(scores[int(logged["prediction"])])
    return float(scores)


def explain_request(ctx: AppContext, request_id: str) -> dict[str, Any]:
    logged = pq.answered_rows(ctx.store, request_id)
    if not logged:
        raise NotFound(f"no logged prediction with request_id '{request_id}' (shadow rows are not answers); "
                       "check the id, or whether retention already removed it")
    first = logged[0]
    version = get_version(ctx.store, first["model_name"], int(first["version"]))
    features = features_from_json(version["features"])
    columns, rows = pq.request_inputs(ctx.store, first["model_name"], request_id)
    inputs = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    result: dict[str, Any] = {
        "request_id": request_id, "model": first["model_name"], "version": first["version"], "route": first["route"],
        "api": first["api"], "logged_at": first["logged_at"], "latency_ms": first["latency_ms"],
        "trained": {"snapshot_id": version["snapshot_id"], "snapshot_rows": version["snapshot_rows"],
                    "spec_sha256": version["spec_sha256"], "artifact_sha256": version["artifact_sha256"],
                    "created_by": version["created_by"], "created_at": version["created_at"],
                    "estimator": version["estimator"]},
        "rows": [], "inputs_available": inputs.height == len(logged),
    }
    recomputed: np.ndarray | None = None
    model: Any = None
    if inputs.height == len(logged):
        model = load_version_model(ctx, version)
        recomputed = scores_of(model, version["task"], model_input(inputs, features))
        references = _references(ctx, version, features)
        result["references"] = references
    for i, row in enumerate(logged):
        entry: dict[str, Any] = {"row_index": row["row_index"], "prediction": row["prediction"], "score": row["score"],
                                 "flags": row["flags"]}
        if recomputed is not None:
            entry["inputs"] = {f.name: inputs[f.name][i] for f in features}
            again = _recomputed(version["task"], recomputed[i], row)
            logged_value = row["score"] if version["task"] != "regression" else row["prediction"]
            entry["recomputed"] = again
            entry["matches"] = logged_value is not None and abs(again - float(logged_value)) <= 1e-12
            entry["explanation"] = contributions(model, version["task"], model_input(inputs[i], features), features,
                                                 references, version.get("classes"))
        result["rows"].append(entry)
    result["matches"] = recomputed is not None and all(r["matches"] for r in result["rows"])
    return result
