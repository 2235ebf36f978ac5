"""A multiclass version's outputs as drift columns: the predicted class and each class's probability.

For binary and regression versions the drift check compares one output column, `(prediction)`: the
score (or the prediction). A multiclass version's chosen-class probability says little (it is the
model's confidence, not what it predicts), so its outputs become

- `(prediction)`: the predicted class's name, a categorical column. Its drift is PSI and
  Jensen–Shannon distance over the classes (plus unseen and missing bins) with the chi-square
  p-value of the class counts: a shift in the class mix;
- `(probability:<class>)`: each class's probability, a numeric column, compared like any numeric
  feature (quantile bins, PSI, JS, KS) and summarised by its mean in both samples (`mean_shift`).

>>> import numpy as np
>>> frame = reference_frame(np.array([[.7, .2, .1], [.1, .3, .6]]), ["a", "b", "c"])
>>> frame["(prediction)"].to_list(), frame["(probability:c)"].to_list()
(['a', 'c'], [0.1, 0.6])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import polars as pl

from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature

PREDICTION = "(prediction)"
CLASS = "(class)"  # the window's chosen class position, as the prediction log keeps it
PROBABILITIES = "(probabilities)"  # the window's probabilities, one list per row


def probability_column(class_name: str) -> str:
    return f"(probability:{class_name})"


def output_features(classes: Sequence[str] | None) -> list[Feature]:
    """The output columns a drift check compares: the score, or the class and each class's probability."""
    if not classes:
        return [Feature(PREDICTION, NUMERIC)]
    return [Feature(PREDICTION, CATEGORICAL), *[Feature(probability_column(c), NUMERIC) for c in classes]]


def reference_frame(probabilities: np.ndarray, classes: Sequence[str]) -> pl.DataFrame:
    """The reference's output columns from its probability matrix (one column per class)."""
    chosen = np.argmax(probabilities, axis=1)
    columns: dict[str, Any] = {PREDICTION: [classes[i] for i in chosen]}
    for code, name in enumerate(classes):
        columns[probability_column(name)] = probabilities[:, code].astype(np.float64)
    return pl.DataFrame(columns, schema={PREDICTION: pl.String, **{probability_column(c): pl.Float64
                                                                   for c in classes}})


def window_frame(current: pl.DataFrame, classes: Sequence[str]) -> pl.DataFrame:
    """A window read with its classes (`drift_queries.window_inputs(classes=True)`), its outputs turned
    into the drift columns: the chosen class's name and each class's probability (missing if not logged)."""
    if current.height == 0 or CLASS not in current.columns:
        return current
    names = pl.Series(PREDICTION, [_name(code, classes) for code in current[CLASS].to_list()], dtype=pl.String)
    probabilities = current[PROBABILITIES].to_list()
    columns = [pl.Series(probability_column(name), [_at(row, code) for row in probabilities], dtype=pl.Float64)
               for code, name in enumerate(classes)]
    return current.drop([PREDICTION, CLASS, PROBABILITIES]).with_columns([names, *columns])


def mean_shift(reference_sorted: np.ndarray, current: np.ndarray) -> dict[str, float | None]:
    """Mean probability of a class in the reference and in the window (missing values left out)."""
    present = current[~np.isnan(current)]
    reference = float(reference_sorted.mean()) if len(reference_sorted) else None
    now = float(present.mean()) if len(present) else None
    shift = now - reference if now is not None and reference is not None else None
    return {"mean_reference": reference, "mean_current": now, "mean_shift": shift}


def _name(code: Any, classes: Sequence[str]) -> str | None:
    if code is None:
        return None
    position = int(code)
    return classes[position] if 0 <= position < len(classes) else str(position)


def _at(row: Any, code: int) -> float | None:
    if row is None or code >= len(row) or row[code] is None:
        return None
    return float(row[code])
