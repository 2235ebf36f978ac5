"""Estimated performance of a version over a period, per chunk, beside the realized metric once enough
labels have arrived; stored in `estimate_runs` and `performance_estimates` when asked.

CBPE (binary, multiclass) estimates ROC AUC, accuracy, F1, precision and recall (macro one-vs-rest for
multiclass); DLE (regression) estimates MAE and RMSE. Each estimate carries its confidence band and is
judged against the alert band the reference's own chunks draw (bands.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.contracts.features import features_from_json
from appliance.core.periods import Period
from appliance.errors import MonitoringError
from appliance.home.context import AppContext
from appliance.estimation.bands import Estimate, estimate
from appliance.estimation.cbpe import CBPE, METRICS as CLASSIFIER_METRICS, RANGE
from appliance.estimation.dle import DLE, METRICS as REGRESSION_METRICS, RANGE as LOSS_RANGE
from appliance.estimation.realized import binary_realized, multiclass_realized, regression_realized
from appliance.estimation.reference import Fitted, encode, fitted
from appliance.registry.versions import get_version, require_model
from appliance.store import estimate_queries as eq
from appliance.store import registry_queries as q

DEFAULT_REFERENCE_CHUNKS = 10
MIN_LABELS = 30  # fewer labels in a chunk than this: no realized metric beside its estimate
PRIMARY = {"binary": "roc_auc", "multiclass": "roc_auc", "regression": "mae"}


Part = tuple[datetime, datetime, pl.DataFrame]


class Chunker(Protocol):
    """How a period's rows are cut into chunks, and the reference into chunks for the alert band."""

    @property
    def text(self) -> str: ...

    def parts(self, frame: pl.DataFrame, period: Period) -> list[Part]: ...

    def reference_slices(self, times: np.ndarray) -> list[tuple[int, int]]: ...


class WholePeriod:
    """The whole period as one chunk; the reference cut as NannyML's default chunker does (ten chunks of
    rows // 10, and the remainder)."""

    text = "whole"

    def parts(self, frame: pl.DataFrame, period: Period) -> list[Part]:
        return [(period.start, period.end, frame)]

    def reference_slices(self, times: np.ndarray) -> list[tuple[int, int]]:
        rows = len(times)
        size = max(rows // DEFAULT_REFERENCE_CHUNKS, 1)
        return [(start, min(start + size, rows)) for start in range(0, rows, size)]


def estimate_performance(ctx: AppContext, model_name: str, period: Period, *, version: int | None = None,
                         chunker: Chunker | None = None, actor: str = "", keep: bool = True,
                         live_only: bool = False) -> dict[str, Any]:
    """The version's (default: the champion's) estimates over the period, per chunk (default: the whole
    period); stored when `keep`. With `live_only`, only rows the router answered or shadowed count (not
    batch-scored files, which an operator chooses)."""
    require_model(ctx.store, model_name)
    number = version if version is not None else q.aliases(ctx.store, model_name).get("champion")
    if number is None:
        raise MonitoringError(f"model '{model_name}' has no champion; pass --version N")
    row = get_version(ctx.store, model_name, number)
    cut = chunker or WholePeriod()
    found = fitted(ctx, row)
    frame = _scored(ctx, row, period, found, live_only)
    if frame.height == 0:
        raise MonitoringError(f"{model_name} v{number} scored no rows from {period.start:%Y-%m-%d %H:%M} to "
                              f"{period.end:%Y-%m-%d %H:%M} ({period.axis} time); nothing to estimate")
    if isinstance(found.estimator, DLE):  # the loss model predicts every row once, each chunk averages its rows
        absolute, squared = found.estimator.losses(*_outputs(found, row, frame)[1:])
        frame = frame.with_columns(pl.Series("(absolute loss)", absolute), pl.Series("(squared loss)", squared))
    chunks = [_chunk(i, found, row, frame, part) for i, part in enumerate(cut.parts(frame, period))]
    bands = found.estimator.alert_bands(found.reference, cut.reference_slices(found.times))  # type: ignore[arg-type]
    for chunk in chunks:
        chunk["estimates"] = [_judged(e, bands) for e in chunk["estimates"]]
    result = {"model": model_name, "version": number, "task": row["task"], "method": found.method,
              "axis": period.axis, "period_start": period.start, "period_end": period.end, "chunking": cut.text,
              "rows": frame.height, "reference_rows": found.reference.rows, "primary": PRIMARY[row["task"]],
              "chunks": [{**c, "estimates": [e.as_dict() for e in c["estimates"]]} for c in chunks]}
    if keep and not ctx.store.read_only:
        result["run_id"] = _keep(ctx, result, chunks, actor)
    return result


def _scored(ctx: AppContext, row: dict[str, Any], period: Period, found: Fitted, live_only: bool) -> pl.DataFrame:
    features = [f.name for f in features_from_json(row["features"])] if found.method == "dle" else []
    frame = eq.scored_rows(ctx.store, row["model_name"], int(row["version"]), period, features, live_only)
    needed = "(probabilities)" if row["task"] == "multiclass" else "(score)" if row["task"] == "binary" \
        else "(prediction)"
    if not frame.height:
        return frame
    kept = pl.col("(inputs kept)").cast(pl.Boolean).fill_null(False) if "(inputs kept)" in frame.columns \
        else pl.lit(True)  # DLE reads inputs
    return frame.filter(pl.col(needed).is_not_null() & kept)


def _chunk(index: int, found: Fitted, row: dict[str, Any], frame: pl.DataFrame,
           part: tuple[datetime, datetime, pl.DataFrame]) -> dict[str, Any]:
    start, end, rows = part
    outputs = _outputs(found, row, rows, encoded=not isinstance(found.estimator, DLE))
    labels = rows["(label)"].to_numpy().astype(np.float64)
    labelled = ~np.isnan(labels)
    realized = _realized(row["task"], labels[labelled], outputs, labelled) if labelled.sum() >= MIN_LABELS else {}
    values = found.estimator.from_losses(rows["(absolute loss)"].to_numpy(), rows["(squared loss)"].to_numpy()) \
        if isinstance(found.estimator, DLE) else found.estimator.estimate(outputs[0], outputs[1])
    metrics = REGRESSION_METRICS if isinstance(found.estimator, DLE) else CLASSIFIER_METRICS
    return {"chunk_index": index, "start": start, "end": end, "rows": rows.height,
            "labelled_rows": int(labelled.sum()),
            "estimates": [Estimate(m, *values[m], None, None, None, None, False,
                                   _finite(realized.get(m))) for m in metrics]}


def _outputs(found: Fitted, row: dict[str, Any], rows: pl.DataFrame, encoded: bool = True) -> tuple[np.ndarray, ...]:
    """(scores, predicted labels), or for DLE (predictions, encoded inputs, predictions); without `encoded`
    only the predictions (the inputs' losses were already predicted)."""
    predicted = rows["(prediction)"].to_numpy().astype(np.float64)
    if row["task"] == "binary":
        return rows["(score)"].to_numpy().astype(np.float64), predicted.astype(np.int64)
    if row["task"] == "multiclass":
        matrix = np.asarray(rows["(probabilities)"].to_list(), dtype=np.float64)
        return matrix, predicted.astype(np.int64)
    if not encoded:
        return (predicted,)
    features = features_from_json(row["features"])
    return predicted, encode(rows, features, found.categories), predicted


def _realized(task: str, labels: np.ndarray, outputs: tuple[np.ndarray, ...], rows: np.ndarray) -> dict[str, float]:
    if task == "regression":
        return regression_realized(labels, outputs[0][rows])
    if task == "multiclass":
        return multiclass_realized(labels.astype(np.int64), outputs[0][rows], outputs[1][rows])
    return binary_realized(labels.astype(np.int64), outputs[0][rows], outputs[1][rows])


def _judged(found: Estimate, bands: dict[str, tuple[float | None, float | None]]) -> Estimate:
    low, high = LOSS_RANGE if found.metric in REGRESSION_METRICS else RANGE
    judged = estimate(found.metric, found.value, found.sampling_error, bands.get(found.metric, (None, None)),
                      low, high)
    return Estimate(judged.metric, judged.value, judged.sampling_error, judged.lower, judged.upper,
                    judged.lower_threshold, judged.upper_threshold, judged.alert, found.realized)


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _keep(ctx: AppContext, result: dict[str, Any], chunks: list[dict[str, Any]], actor: str) -> int:
    """One transaction: the run and every chunk's estimates."""
    with ctx.store.transaction():
        run_id = eq.insert_run(ctx.store, dict(
            model_name=result["model"], version=result["version"], method=result["method"], axis=result["axis"],
            period_start=result["period_start"], period_end=result["period_end"], chunking=result["chunking"],
            rows=result["rows"], computed_at=utc_now(), computed_by=actor or "vigil"))
        eq.insert_estimates(ctx.store, [
            (run_id, result["model"], result["version"], result["axis"], c["chunk_index"], c["start"], c["end"],
             c["rows"], e.metric, e.value, e.sampling_error, e.lower, e.upper, e.lower_threshold, e.upper_threshold,
             e.alert, c["labelled_rows"], e.realized) for c in chunks for e in c["estimates"]])
    return run_id
