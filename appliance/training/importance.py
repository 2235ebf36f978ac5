"""Explanations: a version's global feature importance, and one prediction's per-feature contributions.

Global: permutation importance on the holdout — for each feature, the mean drop of the holdout metric
(ROC AUC; for regression the rise of MAE, for multiclass the rise of log loss) when that feature's values are shuffled among the rows, over
a few seeded repeats on up to 1,000 rows.

Local: each feature of a row is replaced, one at a time, by its reference value (the training median,
or the most frequent category), and the change of the model's output is that feature's contribution.
For linear models (logistic and linear regression) the output compared is the linear predictor
(log-odds for a logistic model): the transformation of one feature touches only its own columns, so
the contributions are exact and add up to the row's predictor minus the reference row's. For other
models the output is the probability (or the prediction); contributions are model-agnostic, need not
add up, and interactions are not split between features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from appliance.contracts.features import NUMERIC, Feature, model_input
from appliance.core.records import PRIMARY
from appliance.training.evaluation import primary_metric, scores_of

ROWS = 1000
REPEATS = 2


@dataclass(frozen=True, slots=True)
class Importance:
    feature: str
    importance: float | None
    std: float | None
    metric: str
    repeats: int
    rows: int
    reference: Any


def reference_values(train: pl.DataFrame, features: list[Feature]) -> dict[str, Any]:
    """The training median of each numeric feature and the most frequent category of the others."""
    found: dict[str, Any] = {}
    for f in features:
        column = train[f.name].drop_nulls()
        if column.is_empty():
            found[f.name] = None
        elif f.kind == NUMERIC:
            found[f.name] = float(column.cast(pl.Float64).median())  # type: ignore[arg-type]
        else:
            found[f.name] = str(column.cast(pl.String).mode().sort()[0])
    return found


def _score(task: str, y: np.ndarray, scores: np.ndarray) -> float | None:
    return primary_metric(task, y, scores)


def permutation_importance(model: Any, task: str, holdout: pl.DataFrame, y: np.ndarray, features: list[Feature],
                           references: dict[str, Any], seed: int) -> list[Importance]:
    metric, higher_is_better = PRIMARY[task]
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(holdout.height, size=min(ROWS, holdout.height), replace=False))
    sample = model_input(holdout, features)[take]
    labels = y[take]
    base = _score(task, labels, scores_of(model, task, sample)) if len(take) else None
    found = []
    for f in features:
        drops = []
        for _ in range(REPEATS if base is not None else 0):
            order = rng.permutation(sample.height)
            shuffled = sample.with_columns(sample[f.name].gather(order))
            value = _score(task, labels, scores_of(model, task, shuffled))
            if value is not None and base is not None:
                drops.append(base - value if higher_is_better else value - base)
        found.append(Importance(f.name, float(np.mean(drops)) if drops else None,
                                float(np.std(drops)) if drops else None, metric, REPEATS, sample.height,
                                references.get(f.name)))
    return sorted(found, key=lambda i: -(i.importance or 0.0))


def is_linear(model: Any) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return hasattr(final, "coef_") and hasattr(model, "decision_function" if hasattr(final, "classes_") else "predict")


def contributions(model: Any, task: str, row: pl.DataFrame, features: list[Feature],
                  references: dict[str, Any], classes: list[str] | None = None) -> dict[str, Any]:
    """Per-feature contributions for one row (a one-row frame of model input), by replacing one
    feature at a time with its reference value. Multiclass: to each class's probability, by class."""
    if task == "multiclass":
        return _per_class(model, row, features, references, classes)
    linear = is_linear(model)

    def output(frame: pl.DataFrame) -> np.ndarray:
        if linear and task == "binary":
            return np.asarray(model.decision_function(frame), dtype=float)
        return scores_of(model, task, frame)

    variants = [row]
    for f in features:
        variants.append(row.with_columns(pl.lit(references.get(f.name)).cast(row.schema[f.name]).alias(f.name)))
    reference_row = row.with_columns([pl.lit(references.get(f.name)).cast(row.schema[f.name]).alias(f.name)
                                      for f in features])
    values = output(pl.concat([*variants, reference_row]))
    actual, baseline = float(values[0]), float(values[-1])
    parts = {f.name: actual - float(values[i + 1]) for i, f in enumerate(features)}
    scale = "log-odds" if linear and task == "binary" else ("probability" if task == "binary" else "prediction")
    method = ("exact: linear model, each feature against its reference value" if linear else
              "model-agnostic: each feature replaced by its reference value, one at a time")
    ordered = dict(sorted(parts.items(), key=lambda kv: -abs(kv[1])))
    return {"method": method, "scale": scale, "output": actual, "reference_output": baseline,
            "contributions": ordered, "sum": float(sum(parts.values()))}


def _variants(row: pl.DataFrame, features: list[Feature], references: dict[str, Any]) -> pl.DataFrame:
    """The row, then the row with each feature at its reference value, then the all-reference row."""
    variants = [row]
    for f in features:
        variants.append(row.with_columns(pl.lit(references.get(f.name)).cast(row.schema[f.name]).alias(f.name)))
    variants.append(row.with_columns([pl.lit(references.get(f.name)).cast(row.schema[f.name]).alias(f.name)
                                      for f in features]))
    return pl.concat(variants)


def _per_class(model: Any, row: pl.DataFrame, features: list[Feature], references: dict[str, Any],
               classes: list[str] | None) -> dict[str, Any]:
    """Model-agnostic contributions of each feature to each class's probability."""
    values = scores_of(model, "multiclass", _variants(row, features, references))
    names = classes if classes is not None else [str(i) for i in range(values.shape[1])]
    by_class = {}
    for code, name in enumerate(names):
        parts = {f.name: float(values[0, code] - values[i + 1, code]) for i, f in enumerate(features)}
        by_class[name] = {"output": float(values[0, code]), "reference_output": float(values[-1, code]),
                          "contributions": dict(sorted(parts.items(), key=lambda kv: -abs(kv[1]))),
                          "sum": float(sum(parts.values()))}
    return {"method": "model-agnostic: each feature replaced by its reference value, one at a time",
            "scale": "probability of each class", "classes": by_class}

