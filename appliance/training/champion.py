"""Score the holdout with the current champion and compare it with the new version."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from appliance.context import AppContext
from appliance.contracts.features import features_from_json, model_input
from appliance.registry.loading import load_version_model
from appliance.store import registry_queries as q
from appliance.training.comparison import Comparison, paired_bootstrap
from appliance.training.evaluation import scores_of
from appliance.training.spec import TrainingSpec


def compare_with_champion(ctx: AppContext, spec: TrainingSpec, holdout: pl.DataFrame, y: np.ndarray,
                          scores: np.ndarray, positive: str | None) -> tuple[int | None, Comparison | None, str]:
    """(champion version, comparison or None, note saying why there is none)."""
    if q.model(ctx.store, spec.model) is None:
        return None, None, "first version of this model: no champion to compare with"
    champion_version = q.aliases(ctx.store, spec.model).get("champion")
    if champion_version is None:
        return None, None, "the model has no champion yet"
    champion = q.version(ctx.store, spec.model, champion_version)
    assert champion is not None
    problem = _incompatible(champion, spec, holdout, positive)
    if problem:
        return champion_version, None, problem
    champion_model = load_version_model(ctx, champion)
    champion_scores = scores_of(champion_model, spec.task, model_input(holdout, features_from_json(champion["features"])))
    settings = ctx.config.training
    comparison = paired_bootstrap(spec.task, y, scores, champion_scores, resamples=settings.bootstrap_samples,
                                  confidence=settings.confidence, seed=spec.seed)
    return champion_version, comparison, ""


def _incompatible(champion: dict[str, Any], spec: TrainingSpec, holdout: pl.DataFrame,
                  positive: str | None) -> str:
    if champion["task"] != spec.task:
        return f"champion v{champion['version']} is a {champion['task']} model"
    if champion["target"] != spec.target or champion["positive_class"] != positive:
        return f"champion v{champion['version']} predicts {champion['target']}={champion['positive_class']}"
    missing = [f["name"] for f in champion["features"] if f["name"] not in holdout.columns]
    if missing:
        return f"holdout lacks champion v{champion['version']}'s features {missing}"
    return ""
