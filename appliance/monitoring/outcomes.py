"""Outcome performance from feedback labels: per time bucket, per version and per segment, with label
coverage (share of answered rows that got a label) and label delay, so a feedback loop that stops
labelling is visible as falling coverage rather than as silence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from appliance.core.periods import Period
from appliance.home.context import AppContext
from appliance.core.windows import parse_window
from appliance.registry.versions import require_model
from appliance.store import outcome_queries as oq
from appliance.store import registry_queries as q
from appliance.training.evaluation import roc_auc

MIN_LABELS = 30  # fewer labels than this: counts only, no performance metrics


def outcome_report(ctx: AppContext, model_name: str, period: Period, bucket: str | None) -> dict[str, Any]:
    """Performance of the rows answered in the period (on its axis), whole and per `bucket` within it (None:
    the whole period is one bucket)."""
    model = require_model(ctx.store, model_name)
    step = parse_window(bucket) if bucket else period.span
    start, end = period.start, period.end
    versions = q.list_versions(ctx.store, model_name)
    segments = sorted({s for v in versions for s in _segments_of(ctx, model_name, v["version"])})
    rows = oq.labelled_window(ctx.store, model_name, period, segments)
    task = model["task"]
    return {
        "model": model_name, "task": task, "window_start": start, "window_end": end, "axis": period.axis,
        "bucket": bucket,
        "overall": _summary(rows, task),
        "audit_samples": _summary(rows.filter(pl.col("audit_sample")), task) if rows.height else _summary(rows, task),
        "not_audit_samples": _summary(rows.filter(~pl.col("audit_sample")), task) if rows.height
        else _summary(rows, task),
        "buckets": [{"start": b_start, **_summary(part, task)} for b_start, part in _buckets(rows, start, end, step)],
        "versions": {str(v): _summary(part, task) for (v,), part in rows.group_by(["version"], maintain_order=True)}
        if rows.height else {},
        "segments": [{"column": column, "value": value, **_summary(part, task)}
                     for column in segments if column in rows.columns
                     for (value,), part in _with_inputs(rows).group_by([column], maintain_order=True)],
    }


def _with_inputs(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows whose inputs were kept (a cluster run's import may keep a sample): only they have segments."""
    if not rows.height or "(inputs kept)" not in rows.columns:
        return rows
    return rows.filter(pl.col("(inputs kept)").cast(pl.Boolean).fill_null(False))


def _segments_of(ctx: AppContext, model_name: str, version: int) -> list[str]:
    found = q.version(ctx.store, model_name, version)
    return list(found["segments"]) if found else []


def _buckets(rows: pl.DataFrame, start: datetime, end: datetime,
             step: timedelta) -> list[tuple[datetime, pl.DataFrame]]:
    found = []
    edge = start
    while edge < end:
        part = rows.filter((pl.col("(at)") >= edge) & (pl.col("(at)") < edge + step)) if rows.height else rows
        found.append((edge, part))
        edge += step
    return found


def _summary(rows: pl.DataFrame, task: str) -> dict[str, Any]:
    answered = rows.height
    labelled = rows.filter(pl.col("label_value").is_not_null()) if answered else rows
    summary: dict[str, Any] = {"answered": answered, "labelled": labelled.height,
                               "coverage": labelled.height / answered if answered else None}
    if labelled.height:
        delays = (labelled["received_at"] - labelled["logged_at"]).dt.total_seconds().to_numpy()
        summary["label_delay_s"] = {"median": float(np.median(delays)), "p95": float(np.quantile(delays, 0.95))}
    if labelled.height >= MIN_LABELS:
        summary["metrics"] = _metrics(labelled, task)
    return summary


def _metrics(labelled: pl.DataFrame, task: str) -> dict[str, float | None]:
    y = labelled["label_value"].to_numpy().astype(np.float64)
    if task == "binary":
        scores = labelled["score"].to_numpy().astype(np.float64)
        predicted = labelled["prediction"].to_numpy().astype(np.float64)
        return {"roc_auc": roc_auc(y.astype(int), scores), "accuracy": float(np.mean(predicted == y)),
                "brier": float(np.mean((scores - y) ** 2)), "positive_rate": float(np.mean(y))}
    if task == "multiclass":
        return _multiclass_metrics(labelled)
    predicted = labelled["prediction"].to_numpy().astype(np.float64)
    error = predicted - y
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error ** 2)))}


def _multiclass_metrics(labelled: pl.DataFrame) -> dict[str, float | None]:
    """Accuracy, log loss and each labelled class's recall. `prediction` and `label_value` are both positions
    in the answering version's classes, so they compare row by row; recall is keyed by the class's name."""
    from appliance.training.multiclass_metrics import EPSILON

    y = labelled["label_value"].to_numpy().astype(np.intp)
    hit = labelled["prediction"].to_numpy().astype(np.intp) == y
    chosen = np.array([row[code] for row, code in zip(labelled["probabilities"].to_list(), y)], dtype=np.float64)
    found: dict[str, float | None] = {"accuracy": float(np.mean(hit)),
                                      "log_loss": float(-np.mean(np.log(np.clip(chosen, EPSILON, 1.0))))}
    names = labelled["label"].to_numpy()
    for name in sorted(set(names)):
        found[f"recall:{name}"] = float(np.mean(hit[names == name]))
    return found


def metrics_of_versions(ctx: AppContext, model_name: str, versions: list[int], start: datetime, end: datetime,
                        min_labels: int) -> dict[int, dict[str, float | None]]:
    """Outcome metrics per version over [start, end) of arrival time (a canary is judged on what it answered
    while it ran), for versions with at least `min_labels` labels."""
    task = require_model(ctx.store, model_name)["task"]
    rows = oq.labelled_window(ctx.store, model_name, Period(start, end, "arrival"), [])
    found: dict[int, dict[str, float | None]] = {}
    for version in versions:
        labelled = rows.filter((pl.col("version") == version) & pl.col("label_value").is_not_null()) \
            if rows.height else rows
        if labelled.height >= min_labels:
            found[version] = _metrics(labelled, task)
    return found
