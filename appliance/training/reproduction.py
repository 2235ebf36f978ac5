"""`vigil reproduce`: retrain a version from its recorded snapshot and spec; do predictions match?"""

from __future__ import annotations

from typing import Any

import numpy as np

from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json, model_input
from appliance.errors import ArtifactError, TrainingError
from appliance.core import lineage
from appliance.core.blobs import sha256_file
from appliance.registry.loading import load_version_model
from appliance.registry.versions import get_version
from appliance.training.dataset import labels, load_snapshot, split_by_time
from appliance.training.evaluation import metrics, scores_of
from appliance.training.spec import Split, parse_spec
from appliance.training.trainer import fit


def reproduce(ctx: AppContext, model_name: str, number: int) -> dict[str, Any]:
    row = get_version(ctx.store, model_name, number)
    trained_in_vigil = row["origin"] == "trained" or "original_version" in (row["imported_from"] or {})
    if not trained_in_vigil:  # a bundle carries a Vigil-trained version's spec and snapshot; a model file does not
        raise TrainingError(f"{model_name} v{number} was imported; Vigil has no training code to rerun for it")
    spec = parse_spec(row["spec_toml"], f"recorded spec of {model_name} v{number}").spec
    frame = load_snapshot(_verified_snapshot(ctx, row), spec.split.time_column)
    split = split_by_time(frame, Split(time_column=spec.split.time_column, holdout_fraction=None, holdout_start=row["holdout_start"]))
    retrained = fit(spec, split.train, row["positive_class"], row.get("classes"))
    inputs = model_input(split.holdout, features_from_json(row["features"]))
    new_scores = scores_of(retrained, spec.task, inputs)
    old_scores = scores_of(load_version_model(ctx, row), spec.task, inputs)
    y = labels(split.holdout, spec, row["positive_class"], row.get("classes"))
    threshold = row["threshold"] or 0.5
    bins = ctx.config.training.calibration_bins
    recorded, again = (metrics(spec.task, y, s, threshold, bins, row.get("classes")) for s in (old_scores, new_scores))
    return {
        "model": model_name, "version": number, "holdout_rows": len(y),
        "predictions_match": bool(np.array_equal(new_scores, old_scores)),
        "max_abs_difference": float(np.max(np.abs(new_scores - old_scores))) if len(y) else 0.0,
        "metrics": {name: {"recorded": recorded[name], "reproduced": again[name]} for name in recorded},
        "environment_changes": _environment_changes(row["environment"], lineage.environment()),
    }


def _verified_snapshot(ctx: AppContext, row: dict[str, Any]) -> Any:
    path = ctx.home.root / row["snapshot_path"]
    label = f"model {row['model_name']} v{row['version']}"
    if not path.is_file():
        raise ArtifactError(f"{label}: dataset snapshot {path} is missing; restore it from a backup")
    if sha256_file(path) != row["snapshot_id"]:
        raise ArtifactError(f"{label}: dataset snapshot {path} was changed; restore it from a backup")
    return path


def _environment_changes(recorded: dict[str, Any], current: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    if recorded.get("python") != current.get("python"):
        changes["python"] = [recorded.get("python"), current.get("python")]
    for name, was in recorded.get("packages", {}).items():
        now = current.get("packages", {}).get(name)
        if was != now:
            changes[name] = [was, now]
    return changes
