"""Score the holdout with the current champion and compare it with the new version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.config import TrainingConfig
from appliance.contracts.features import features_from_json, model_input
from appliance.registry.loading import load_stored_model
from appliance.store import registry_queries as q
from appliance.store.connection import Store
from appliance.core.records import Comparison
from appliance.training.comparison import paired_bootstrap
from appliance.training.evaluation import scores_of
from appliance.training.spec import TrainingSpec


@dataclass(frozen=True, slots=True)
class ChampionInfo:
    """What training needs to know of the model's registry state, read before training starts (so that
    training can run in a process that does not open the store)."""

    model_exists: bool
    version: int | None
    row: dict[str, Any] | None  # the champion's version row
    latest_version: int | None

    @property
    def parent(self) -> int | None:
        return self.version if self.version is not None else self.latest_version


def champion_info(store: Store, model_name: str) -> ChampionInfo:
    if q.model(store, model_name) is None:
        return ChampionInfo(False, None, None, None)
    number = q.aliases(store, model_name).get("champion")
    row = q.version(store, model_name, number) if number is not None else None
    return ChampionInfo(True, number, row, q.latest_version(store, model_name))


def compare_with_champion(home_root: Path, settings: TrainingConfig, info: ChampionInfo, spec: TrainingSpec,
                          holdout: pl.DataFrame, y: np.ndarray, scores: np.ndarray, positive: str | None,
                          classes: list[str] | None = None) -> tuple[int | None, Comparison | None, str]:
    """(champion version, comparison or None, note saying why there is none). A multiclass champion is
    compared only when it names the same classes in the same order (its probability columns)."""
    if not info.model_exists:
        return None, None, "first version of this model: no champion to compare with"
    if info.version is None or info.row is None:
        return None, None, "the model has no champion yet"
    champion = info.row
    problem = _incompatible(champion, spec, holdout, positive, classes)
    if problem:
        return info.version, None, problem
    champion_model = load_stored_model(home_root, champion, f"model {champion['model_name']} v{champion['version']}")
    champion_scores = scores_of(champion_model, spec.task, model_input(holdout, features_from_json(champion["features"])))
    comparison = paired_bootstrap(spec.task, y, scores, champion_scores, resamples=settings.bootstrap_samples,
                                  confidence=settings.confidence, seed=spec.seed)
    return info.version, comparison, ""


def _incompatible(champion: dict[str, Any], spec: TrainingSpec, holdout: pl.DataFrame,
                  positive: str | None, classes: list[str] | None = None) -> str:
    if champion["task"] != spec.task:
        return f"champion v{champion['version']} is a {champion['task']} model"
    if champion["target"] != spec.target or champion["positive_class"] != positive:
        return f"champion v{champion['version']} predicts {champion['target']}={champion['positive_class']}"
    if list(champion.get("classes") or []) != list(classes or []):
        return f"champion v{champion['version']} has classes {champion.get('classes')}, not {classes}"
    missing = [f["name"] for f in champion["features"] if f["name"] not in holdout.columns]
    if missing:
        return f"holdout lacks champion v{champion['version']}'s features {missing}"
    return ""
