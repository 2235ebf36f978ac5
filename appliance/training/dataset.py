"""A training dataset: load the snapshot, check it against the spec, split it by time, get labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.contracts import rules
from appliance.contracts.categories import category_series, label_text
from appliance.contracts.features import CATEGORICAL, NUMERIC
from appliance.contracts.validation import ValidationReport, Violation, missing_rate_violation
from appliance.core.time_columns import as_timestamps
from appliance.errors import DatasetError
from appliance.training.spec import Split, TrainingSpec


@dataclass(frozen=True, slots=True)
class HoldoutSplit:
    """Rows before `holdout_start` train the model; rows at or after it evaluate it."""

    train: pl.DataFrame
    holdout: pl.DataFrame
    holdout_start: datetime


def load_snapshot(path: Path, time_column: str | None) -> pl.DataFrame:
    """Read a snapshot; the time column becomes a naive UTC Datetime: a date or timestamp as it is, an
    integer year or a year-month (201603, "2016-03") as the first instant of its period
    (`core.time_columns`). The snapshot keeps the column as it came, and every load converts it the same
    way, so a split by time is the same at training and at `vigil reproduce`. A column of no such form is
    left as it is, for the spec check to refuse."""
    frame = pl.read_parquet(path)
    if time_column and time_column in frame.columns:
        found = as_timestamps(frame[time_column])
        if found is not None:
            frame = frame.with_columns(found[0])
    return frame


def check_dataset(frame: pl.DataFrame, spec: TrainingSpec) -> ValidationReport:
    """Every way `frame` breaks `spec`: empty, missing or mistyped columns, bad labels, missing rates."""
    if frame.height == 0:
        return ValidationReport(0, (Violation("", "empty_dataset", 0, "at least one row"),))
    found: list[Violation] = []
    schema = frame.schema
    wanted = (
        [(c, "numeric") for c in spec.features.numeric]
        + [(c, "categorical") for c in spec.features.categorical]
        + [(c, "segment") for c in spec.features.segments]
        + [(c, "protected attribute") for c in spec.fairness.protected]
        + [(spec.split.time_column, "time"), (spec.target, "label")]
    )
    for name, role in wanted:
        if name not in schema:
            found.append(Violation(name, "missing_column", "absent", f"{role} column"))
        elif not _type_fits(schema[name], role, spec.task):
            found.append(Violation(name, "wrong_type", str(schema[name]), _expected_type(role, spec.task)))
    if not found:
        found.extend(_check_label(frame[spec.target], spec))
        found.extend(_check_missing(frame, spec))
    return ValidationReport(frame.height, tuple(found))


def require_valid(frame: pl.DataFrame, spec: TrainingSpec, source: str) -> None:
    report = check_dataset(frame, spec)
    if not report.ok:
        raise DatasetError(
            f"dataset from {source} breaks the spec ({len(report.violations)} problem(s)): {report.summary()}",
            report,
        )


def _type_fits(dtype: pl.DataType, role: str, task: str) -> bool:
    if role == "numeric":
        return rules.dtype_fits(NUMERIC, dtype)
    if role in ("categorical", "segment", "protected attribute"):
        return rules.dtype_fits(CATEGORICAL, dtype)
    if role == "time":
        return isinstance(dtype, pl.Datetime) or dtype == pl.Date
    if task == "regression":
        return rules.dtype_fits(NUMERIC, dtype)
    return rules.dtype_fits(CATEGORICAL, dtype)


def _expected_type(role: str, task: str) -> str:
    if role == "numeric" or (role == "label" and task == "regression"):
        return rules.EXPECTED_TYPE[NUMERIC]
    if role == "time":
        return "date, timestamp, integer year (2016) or year-month (201603 or '2016-03')"
    return rules.EXPECTED_TYPE[CATEGORICAL]


def _check_label(label: pl.Series, spec: TrainingSpec) -> list[Violation]:
    found = []
    missing = label.null_count()
    if missing:
        found.append(Violation(label.name, "missing_label", missing, "every row labelled", missing))
    if spec.task == "binary":
        classes = sorted(label.drop_nulls().unique().to_list())
        if len(classes) != 2:
            found.append(Violation(label.name, "label_classes", classes, "exactly 2 classes"))
        elif spec.positive_class is not None and label_text(spec.positive_class) not in map(label_text, classes):
            found.append(Violation(label.name, "positive_class", classes, f"contains {spec.positive_class!r}"))
    if spec.task == "multiclass":
        found.extend(_check_classes(label, spec))
    return found


def _check_classes(label: pl.Series, spec: TrainingSpec) -> list[Violation]:
    """A multiclass label has at least 3 classes, all among the spec's `classes` when it names them."""
    present = [label_text(v) for v in sorted(label.drop_nulls().unique().to_list())]
    if spec.classes is not None:
        strangers = [c for c in present if c not in spec.classes]
        if strangers:
            return [Violation(label.name, "label_classes", strangers, f"only the spec's classes {spec.classes}",
                              int(category_series(label).is_in(strangers).sum()))]
        return []
    if len(present) < 3:
        return [Violation(label.name, "label_classes", present, "at least 3 classes (for two: task 'binary')")]
    return []


def _check_missing(frame: pl.DataFrame, spec: TrainingSpec) -> list[Violation]:
    found = (missing_rate_violation(frame[name], spec.features.max_missing_rate) for name in spec.feature_names)
    return [violation for violation in found if violation is not None]


def split_by_time(frame: pl.DataFrame, split: Split) -> HoldoutSplit:
    """Sort by time; the holdout is the latest rows (by fraction) or rows from `holdout_start` on."""
    ordered = frame.sort(split.time_column, maintain_order=True)
    times = ordered[split.time_column]
    if split.holdout_start is not None:
        start = split.holdout_start
        if start.tzinfo is not None:
            start = start.astimezone(timezone.utc).replace(tzinfo=None)
    else:
        holdout_rows = round(len(times) * (split.fraction or 0.2))
        start = times[min(len(times) - 1, max(1, len(times) - holdout_rows))]
    holdout = ordered.filter(pl.col(split.time_column) >= start)
    train = ordered.filter(pl.col(split.time_column) < start)
    if train.height == 0 or holdout.height == 0:
        raise DatasetError(
            f"time split at {start} leaves {train.height} training and {holdout.height} holdout rows; "
            "choose another holdout_start or holdout_fraction"
        )
    return HoldoutSplit(train, holdout, start)


def labels(frame: pl.DataFrame, spec: TrainingSpec, positive_class: Any | None = None,
           classes: list[str] | None = None) -> np.ndarray:
    """Binary: 1 for the positive class, else 0. Regression: the target as float. Multiclass: each
    label's position in `classes` (default: `choose_classes`), the column of its probability."""
    target = frame[spec.target]
    if spec.task == "regression":
        return target.cast(pl.Float64).to_numpy()
    if spec.task == "multiclass":
        return class_codes(target, classes if classes is not None else choose_classes(target, spec))
    positive = positive_class if positive_class is not None else choose_positive(target, spec)
    return (category_series(target) == label_text(positive)).cast(pl.Int8).to_numpy()


def choose_positive(target: pl.Series, spec: TrainingSpec) -> str:
    """The spec's positive_class, else the larger of the two sorted classes (True, 1, 'yes' > 'no')."""
    if spec.positive_class is not None:
        return label_text(spec.positive_class)
    classes = sorted(target.drop_nulls().unique().to_list())
    return label_text(classes[-1])


def choose_classes(target: pl.Series, spec: TrainingSpec) -> list[str]:
    """The spec's `classes`, else the distinct labels sorted (as values: 2 before 10), as text."""
    if spec.classes is not None:
        return list(spec.classes)
    return [label_text(v) for v in sorted(target.drop_nulls().unique().to_list())]


def class_codes(target: pl.Series, classes: list[str]) -> np.ndarray:
    """Each label's position in `classes`; a label outside them is a DatasetError naming it."""
    text = category_series(target)
    position = {name: code for code, name in enumerate(classes)}
    codes = text.replace_strict(position, default=-1, return_dtype=pl.Int64).to_numpy()
    if (codes < 0).any():
        strangers = sorted(set(text.filter(pl.Series(codes < 0)).drop_nulls().to_list()))[:10]
        raise DatasetError(f"'{target.name}' holds labels {strangers} outside the model's classes {classes}")
    return codes

