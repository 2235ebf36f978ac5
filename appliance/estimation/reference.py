"""A version's estimation reference: its holdout's labels and its own scores, with the calibrators
fitted on them, built once from the training snapshot and kept as a content-addressed file (an `.npz`
of plain arrays, read without unpickling) named by `estimation_references`.

A reference that is missing, damaged or of an older format is rebuilt from the snapshot. CBPE's
calibrators and DLE's loss models (as tables) are stored in the file, so a stored version is not
refitted; fitted estimators are also kept in this process for the next call.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.contracts.features import NUMERIC, Feature, features_from_json, model_input
from appliance.core.blobs import BlobWriter
from appliance.errors import MonitoringError
from appliance.home.context import AppContext
from appliance.estimation.calibration import Calibrator
from appliance.estimation.cbpe import CBPE, ClassifierReference
from appliance.estimation.dle import DLE, RegressionReference
from appliance.store import estimate_queries as eq

log = logging.getLogger("vigil.monitoring")
FORMAT = 1
_CACHE: dict[tuple[str, int, str], Fitted] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16


@dataclass(frozen=True, slots=True)
class Fitted:
    """A version's reference and the estimator fitted on it; `categories` codes a regression version's
    categorical inputs (feature name → its holdout's values, in code order)."""

    reference: ClassifierReference | RegressionReference
    estimator: CBPE | DLE
    categories: dict[str, list[str]]
    times: np.ndarray  # each reference row's time (datetime64[us]), for chunks of a time span

    @property
    def method(self) -> str:
        return "dle" if isinstance(self.estimator, DLE) else "cbpe"


def fitted(ctx: AppContext, row: dict[str, Any]) -> Fitted:
    """The version's fitted reference: from this process's cache, the stored file, or built now."""
    stored = eq.find_reference(ctx.store, row["model_name"], int(row["version"]), FORMAT)
    if stored is not None:
        key = (row["model_name"], int(row["version"]), stored["reference_sha256"])
        with _CACHE_LOCK:
            if key in _CACHE:
                return _CACHE[key]
        loaded = _load(ctx, stored, row)
        if loaded is not None:
            return _remember(key, loaded)
    built = build(ctx, row)
    sha256 = _store(ctx, row, built)
    return _remember((row["model_name"], int(row["version"]), sha256), built)


def _remember(key: tuple[str, int, str], found: Fitted) -> Fitted:
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
    return found


def build(ctx: AppContext, row: dict[str, Any]) -> Fitted:
    """Score the version's holdout with the version itself and fit the estimator on it."""
    from appliance.registry.loading import load_version_model
    from appliance.training.dataset import load_snapshot
    from appliance.training.evaluation import scores_of

    if not row.get("snapshot_path") or not row.get("time_column") or row.get("holdout_start") is None:
        raise MonitoringError(f"{row['model_name']} v{row['version']} has no holdout with labels to estimate from")
    frame = load_snapshot(ctx.home.root / row["snapshot_path"], row["time_column"])
    holdout = frame.filter((pl.col(row["time_column"]) >= row["holdout_start"]) & pl.col(row["target"]).is_not_null())
    holdout = holdout.sort(row["time_column"], maintain_order=True)
    if holdout.height < 2:
        raise MonitoringError(f"{row['model_name']} v{row['version']}'s holdout has {holdout.height} labelled rows; "
                              "too few to estimate from")
    features = features_from_json(row["features"])
    inputs = model_input(holdout, features)
    scores = np.asarray(scores_of(load_version_model(ctx, row), row["task"], inputs), dtype=np.float64)
    times = holdout[row["time_column"]].cast(pl.Datetime("us")).to_numpy()
    return fit(row, holdout[row["target"]], scores, inputs, features, times)


def fit(row: dict[str, Any], target: pl.Series, scores: np.ndarray, inputs: pl.DataFrame,
        features: list[Feature], times: np.ndarray) -> Fitted:
    """Fit the version's estimator on its labelled reference (target column, its scores, its inputs)."""
    from appliance.contracts.categories import category_series, label_text
    from appliance.training.dataset import class_codes

    task = row["task"]
    if task == "regression":
        categories = {f.name: sorted(set(inputs[f.name].drop_nulls().to_list()))
                      for f in features if f.kind != NUMERIC}
        reference = RegressionReference(target.cast(pl.Float64).to_numpy(), scores, encode(inputs, features, categories),
                                        tuple(f.kind != NUMERIC for f in features))
        return Fitted(reference, DLE.fit(reference), categories, times)
    if task == "multiclass":
        y = class_codes(target, list(row["classes"]))
        predicted = np.argmax(scores, axis=1)
    else:
        y = (category_series(target) == label_text(row["positive_class"])).cast(pl.Int64).to_numpy()
        predicted = (scores >= float(row.get("threshold") or 0.5)).astype(np.int64)
    classifier = ClassifierReference(y.astype(np.int64), scores, predicted)
    return Fitted(classifier, CBPE.fit(classifier), {}, times)


def encode(frame: pl.DataFrame, features: list[Feature], categories: dict[str, list[str]]) -> np.ndarray:
    """The inputs as one float matrix: numbers as they are, categories as their reference code (an unseen or
    missing category is NaN, which the loss model treats as missing)."""
    if not features:
        return np.zeros((frame.height, 0))
    columns = []  # one select, so polars computes the columns together
    for i, feature in enumerate(features):
        if feature.name not in frame.columns:
            column = pl.lit(float("nan"), dtype=pl.Float64)
        elif feature.kind == NUMERIC:
            column = pl.col(feature.name).cast(pl.Float64)
        else:
            column = _codes(pl.col(feature.name).cast(pl.String), categories.get(feature.name, []))
        columns.append(column.fill_null(float("nan")).alias(f"c{i}"))
    return frame.select(columns).to_numpy().astype(np.float64, copy=False)


def _codes(text: pl.Expr, known: list[str]) -> pl.Expr:
    """Each value's position in `known` (NULL when unseen): as an enum's codes when `known` are distinct
    non-empty texts (twice as fast), else by a mapping."""
    if known and len(set(known)) == len(known) and all(isinstance(v, str) for v in known):
        return text.cast(pl.Enum(known), strict=False).to_physical().cast(pl.Float64)
    codes = {value: float(code) for code, value in enumerate(known)}
    return text.replace_strict(codes, default=None, return_dtype=pl.Float64)


def _arrays(found: Fitted) -> dict[str, np.ndarray]:
    reference = found.reference
    arrays: dict[str, np.ndarray] = {"y_true": reference.y_true, "predicted": reference.predicted,
                                     "times": found.times.astype("datetime64[us]")}
    if isinstance(reference, ClassifierReference) and isinstance(found.estimator, CBPE):
        arrays["scores"] = reference.scores
        for i, calibrator in enumerate(found.estimator.calibrators):
            if calibrator.x is not None and calibrator.y is not None:
                arrays[f"calibrator_x_{i}"], arrays[f"calibrator_y_{i}"] = calibrator.x, calibrator.y
    elif isinstance(reference, RegressionReference):
        if isinstance(found.estimator, DLE):
            arrays.update(found.estimator.to_arrays())
        arrays["features"] = reference.features
        arrays["categorical"] = np.asarray(reference.categorical, dtype=bool)
        for name, values in found.categories.items():
            arrays[f"categories:{name}"] = np.asarray(values, dtype=str)
    return arrays


def _store(ctx: AppContext, row: dict[str, Any], found: Fitted) -> str:
    """Keep the reference for later estimates; a read-only store (or any failure) only costs the rebuild."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(found))  # type: ignore[arg-type]
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    if ctx.store.read_only:
        return sha256
    writer = BlobWriter(ctx.home.root)
    try:
        blob = writer.put_bytes("datasets", data, ".estimation.npz")
        calibrated = [c.active for c in found.estimator.calibrators] if isinstance(found.estimator, CBPE) else []
        with ctx.store.transaction():
            eq.upsert_reference(ctx.store, dict(
                model_name=row["model_name"], version=int(row["version"]), reference_format=FORMAT,
                method=found.method, reference_sha256=blob.sha256, reference_path=blob.relative_path,
                reference_bytes=blob.size_bytes, reference_rows=found.reference.rows,
                calibrated=json.dumps(calibrated), created_at=utc_now()))
    except Exception as e:  # noqa: BLE001 - derived data: never fail an estimate for it
        writer.discard()
        log.warning("could not store the estimation reference of %s v%s: %s", row["model_name"], row["version"], e)
    return sha256


def _load(ctx: AppContext, stored: dict[str, Any], row: dict[str, Any]) -> Fitted | None:
    path = ctx.home.root / stored["reference_path"]
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != stored["reference_sha256"]:
            raise ValueError("its sha256 does not match the record")
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return _fitted(dict(arrays), row)
    except (OSError, ValueError, KeyError) as e:
        log.warning("estimation reference %s unusable (%s); rebuilding it from the snapshot", path, e)
        return None


def _fitted(arrays: dict[str, np.ndarray], row: dict[str, Any]) -> Fitted:
    if row["task"] == "regression":
        categories = {key.split(":", 1)[1]: [str(v) for v in values] for key, values in arrays.items()
                      if key.startswith("categories:")}
        regression = RegressionReference(arrays["y_true"], arrays["predicted"], arrays["features"],
                                         tuple(bool(v) for v in arrays["categorical"]))
        return Fitted(regression, _dle(regression, arrays), categories, arrays["times"])
    classifier = ClassifierReference(arrays["y_true"], arrays["scores"], arrays["predicted"])
    columns = 1 if classifier.scores.ndim == 1 else classifier.scores.shape[1]
    calibrators = tuple(Calibrator(arrays.get(f"calibrator_x_{i}"), arrays.get(f"calibrator_y_{i}"))
                        for i in range(columns))
    return Fitted(classifier, CBPE.fit(classifier, calibrators), {}, arrays["times"])


def _dle(reference: RegressionReference, arrays: dict[str, np.ndarray]) -> DLE:
    """The stored loss tables, or (a reference stored without them, or with unusable ones) a refit."""
    try:
        return DLE.from_arrays(reference, arrays)
    except (KeyError, ValueError) as e:
        log.info("refitting DLE's loss models (%s)", e)
        return DLE.fit(reference)
