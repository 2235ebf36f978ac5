"""`vigil train`: snapshot, validate, fit, evaluate, compare with the champion, register atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.config import TrainingConfig
from appliance.home.context import AppContext
from appliance.contracts.contract import infer_contract
from appliance.contracts.features import Feature, features_from, model_input
from appliance.errors import DatasetError, SpecError
from appliance.plans.storage import compile_checked, write_plan
from appliance.core import lineage
from appliance.artifacts.model_files import artifact_bytes
from appliance.core.blobs import BlobWriter
from appliance.core.records import NewVersion, SnapshotInfo
from appliance.registry.versions import register
from appliance.store.connection import Store
from appliance.store.datasheet_queries import measure
from appliance.training.champion import ChampionInfo, champion_info, compare_with_champion
from appliance.training.dataset import HoldoutSplit, choose_classes, choose_positive, labels, split_by_time
from appliance.training.cost import Measured, cost_row, measured
from appliance.training.evaluation import evaluate, scores_of
from appliance.training.fairness import evaluate_groups
from appliance.training.importance import permutation_importance, reference_values
from appliance.training.pipeline import build_pipeline, fit_params
from appliance.training.snapshot import take_snapshot
from appliance.training.spec import BOOSTING_LIBRARIES, LoadedSpec, TrainingSpec


@dataclass(frozen=True, slots=True)
class Registered:
    """What `vigil train` and `vigil import` report."""

    model_name: str
    version: int
    snapshot_id: str
    artifact_sha256: str
    metrics: dict[str, float | None]
    comparison: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model_name, "version": self.version, "snapshot_id": self.snapshot_id,
                "artifact_sha256": self.artifact_sha256, "metrics": self.metrics, "comparison": self.comparison}


def spec_features(spec: TrainingSpec) -> list[Feature]:
    return features_from(spec.features.numeric, spec.features.categorical)


def fit(spec: TrainingSpec, train: pl.DataFrame, positive: str | None, classes: list[str] | None = None) -> Any:
    """Fit the spec's pipeline on the training rows (multiclass: on class positions in `classes`, so
    every library sees labels 0..k-1 and its probability columns are in the order of `classes`)."""
    y = labels(train, spec, positive, classes)
    if spec.task == "binary" and len(np.unique(y)) < 2:
        raise DatasetError(
            f"the training rows (before the holdout) hold one class of '{spec.target}'; move the holdout later"
        )
    if spec.task == "multiclass" and classes is not None and len(np.unique(y)) < len(classes):
        absent = [c for code, c in enumerate(classes) if code not in set(y.tolist())]
        raise DatasetError(f"the training rows (before the holdout) hold no '{spec.target}' of classes {absent}; "
                           "move the holdout later, or leave them out of 'classes'")
    model = build_pipeline(spec, spec_features(spec))
    inputs = model_input(train, spec_features(spec))
    if spec.estimator.kind not in BOOSTING_LIBRARIES:
        model.fit(inputs, y)
        return model
    try:
        model.fit(inputs, y, **fit_params(spec, spec_features(spec)))
    except Exception as e:  # the library refuses a parameter or value only when it fits, in its own error type
        raise SpecError(f"estimator '{spec.estimator.kind}' could not train with these params: "
                        f"{str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__}; "
                        "fix estimator.params") from e
    return model


def train_version(ctx: AppContext, loaded: LoadedSpec, *, actor: str, reason: str) -> Registered:
    writer = BlobWriter(ctx.home.root)
    try:
        snapshot, frame = take_snapshot(writer, loaded)
        split = split_by_time(frame, loaded.spec.split)
        positive = choose_positive(frame[loaded.spec.target], loaded.spec) if loaded.spec.task == "binary" else None
        classes = choose_classes(frame[loaded.spec.target], loaded.spec) if loaded.spec.task == "multiclass" else None
        with measured() as training:
            model = fit(loaded.spec, split.train, positive, classes)
        return finish_version(ctx, writer, loaded, snapshot, split, model, positive=positive, origin="trained",
                              actor=actor, reason=reason, imported_from=None, training=training, classes=classes)
    except BaseException:
        writer.discard()
        raise


def finish_version(ctx: AppContext, writer: BlobWriter, loaded: LoadedSpec, snapshot: SnapshotInfo,
                   split: HoldoutSplit, model: Any, *, positive: str | None, origin: str, actor: str,
                   reason: str, imported_from: dict[str, Any] | None, training: Measured | None = None,
                   classes: list[str] | None = None, optional_columns: frozenset[str] = frozenset()) -> Registered:
    """Evaluate, compare, store the artifact and register: shared by training and import."""
    new = prepare_version(ctx.home.root, ctx.config.training, champion_info(ctx.store, loaded.spec.model), writer,
                          loaded, snapshot, split, model, positive=positive, origin=origin, actor=actor,
                          reason=reason, imported_from=imported_from, training=training, classes=classes,
                          optional_columns=optional_columns)
    return register_prepared(ctx.store, writer, new)


def prepare_version(home_root: Path, settings: TrainingConfig, champion: ChampionInfo, writer: BlobWriter,
                    loaded: LoadedSpec, snapshot: SnapshotInfo, split: HoldoutSplit, model: Any, *,
                    positive: str | None, origin: str, actor: str, reason: str,
                    imported_from: dict[str, Any] | None, retrain_trigger: str | None = None,
                    training: Measured | None = None, classes: list[str] | None = None,
                    optional_columns: frozenset[str] = frozenset()) -> NewVersion:
    """Everything a registration needs, computed without the store (so it can run in another process).

    A multiclass version's `classes` name its probability columns, in order. `optional_columns` (an
    imported model's own signature declares them optional) may be missing in any share of rows."""
    spec = loaded.spec
    features = spec_features(spec)
    y = labels(split.holdout, spec, positive, classes)
    scores = scores_of(model, spec.task, model_input(split.holdout, features))
    rows = evaluate(spec.task, y, scores, split.holdout.select(spec.features.segments),
                    threshold=spec.threshold, bins=settings.calibration_bins,
                    min_segment_rows=settings.min_segment_rows, classes=classes)
    champion_version, comparison, note = compare_with_champion(home_root, settings, champion, spec, split.holdout,
                                                               y, scores, positive, classes)
    artifact = writer.put_bytes("artifacts", artifact_bytes(model), ".skops")
    contract = infer_contract(split.train, features, optional=optional_columns)
    checked = None if spec.task == "multiclass" else \
        compile_checked(model, features, spec.task, contract, model_input(split.holdout, features))
    references = reference_values(split.train, features)
    importance = permutation_importance(model, spec.task, split.holdout, y, features, references, spec.seed)
    fairness = evaluate_groups(spec.task, split.holdout, spec.fairness.protected, y, scores, spec.threshold,
                               settings.min_segment_rows) if spec.fairness.protected else []
    git_commit, git_dirty = lineage.git_commit(loaded.path)
    with Store.memory() as scratch:  # the snapshot's datasheet, measured here (in a retrain: not in the daemon)
        datasheet = measure(scratch, home_root / snapshot.blob.relative_path)
    return NewVersion(
        model_name=spec.model, task=spec.task, description=spec.description, origin=origin, artifact=artifact,
        snapshot=snapshot, metrics=rows, comparison=comparison, champion_version=champion_version,
        comparison_note=note, contract=contract.model_dump(mode="json"),
        plan=write_plan(writer, *checked) if checked else None, importance=importance, fairness=fairness,
        cost=cost_row(model, spec.task, model_input(split.holdout, features), training, artifact.size_bytes),
        actor=actor, reason=reason, datasheet=datasheet,
        lineage=dict(
            target=spec.target, positive_class=positive, threshold=spec.threshold if spec.task == "binary" else None,
            classes=classes,
            features=[f.as_dict() for f in features], segments=list(spec.features.segments),
            time_column=spec.split.time_column, holdout_start=split.holdout_start,
            train_rows=split.train.height, holdout_rows=split.holdout.height, spec_toml=loaded.text,
            spec_sha256=loaded.sha256, spec_path=str(loaded.path) if loaded.path else None,
            spec_git_commit=git_commit, spec_git_dirty=git_dirty, estimator=lineage.estimator_name(model),
            hyperparameters=lineage.hyperparameters(lineage.final_estimator(model)), seed=spec.seed,
            environment=lineage.environment(), parent_version=champion.parent,
            imported_from=imported_from, retrain_trigger=retrain_trigger,
        ),
    )


def register_prepared(store: Store, writer: BlobWriter, new: NewVersion) -> Registered:
    number = register(store, writer, new)
    overall = {m.metric: m.value for m in new.metrics if m.segment_column is None}
    return Registered(new.model_name, number, new.snapshot.blob.sha256, new.artifact.sha256, overall,
                      _comparison_summary(new.comparison, new.champion_version, new.comparison_note))


def _comparison_summary(comparison: Any, champion_version: int | None, note: str) -> dict[str, Any] | None:
    if comparison is None:
        return {"champion_version": champion_version, "status": "not compared", "note": note}
    return {"champion_version": champion_version, "metric": comparison.metric,
            "difference": comparison.difference, "ci_low": comparison.ci_low, "ci_high": comparison.ci_high,
            "verdict": comparison.verdict}

