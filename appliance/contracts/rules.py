"""The rules a model's input keeps, and their words: one place for training's checks, the scoring API and
batch scoring.

Each value is checked by its feature's kind and its column of the contract:
- numeric: a number, never a boolean or text (`wrong_type`); finite (`not_finite`); within the column's
  min and max (`out_of_range`; a frame's report tells `below_min` from `above_max`);
- categorical: text, an integer or a boolean (else `wrong_type`), turned into text by the category rule
  (`contracts.categories`), and among the column's categories unless it accepts any (`unknown_category`);
- missing (null; in training data also NaN, pandas' mark for it) is never a row's problem; a frame's
  share of missing values is (`missing_rate`, checked on training data and monitored on traffic).
A model's serving policy decides whether `unknown_category` and `out_of_range` refuse a row or only flag
it (`refuses`); every other problem refuses it.

Two readers apply the rules: JSON values one at a time, with a NumPy path for plain numbers
(`read_numbers`, `read_category`: the scoring API), and a frame's columns whole (`column_problems`: batch
scoring and `validation.validate_frame`). Both then use the same range test (`range_sides`) and category
set (`known_categories`), and name what they find with the words of `contracts.row_rules` (no frame
library there, so the portable scoring plan applies the same words and row tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import polars as pl

from appliance.contracts.categories import category_series, category_text
from appliance.contracts.contract import CategoricalColumn, NumericColumn
from appliance.contracts.features import CATEGORICAL, NUMERIC, is_categorical_dtype, is_numeric_dtype
from appliance.contracts.row_rules import (  # noqa: F401 (the rules' words, re-exported)
    ABOVE_MAX, BELOW_MIN, MISSING_COLUMN, MISSING_RATE, NOT_FINITE, NOT_FINITE_PROBLEM, NUMBER_TOO_LARGE,
    OUT_OF_RANGE, UNKNOWN_CATEGORY, WRONG_TYPE, Policy, Problem, flag, missing_columns, not_finite_rows,
    range_sides, reason, refuses)

EXPECTED_TYPE = {NUMERIC: "numeric", CATEGORICAL: "text, boolean or integer"}  # a frame column's dtype
Spec = NumericColumn | CategoricalColumn


def dtype_fits(feature_kind: str, dtype: pl.DataType) -> bool:
    """Whether a frame's column of `dtype` can hold a feature of `feature_kind`."""
    return is_numeric_dtype(dtype) if feature_kind == NUMERIC else is_categorical_dtype(dtype)


def bounds(spec: Spec | None) -> tuple[float, float]:
    """The column's accepted range; unbounded sides (and categorical columns) are infinite."""
    if not isinstance(spec, NumericColumn):
        return -math.inf, math.inf
    return (-math.inf if spec.min is None else spec.min), (math.inf if spec.max is None else spec.max)


def known_categories(spec: CategoricalColumn) -> frozenset[str] | None:
    """The texts a categorical column accepts, or None when it accepts any."""
    return None if spec.any_category else frozenset(spec.categories)


def out_of_range_problem(value: Any, low: Any, high: Any) -> Problem:
    return OUT_OF_RANGE, f"{value} is outside the contract's range [{low}, {high}]"


def unknown_category_problem(text: str) -> Problem:
    return UNKNOWN_CATEGORY, f"unknown category {text!r}"


def read_number(value: Any) -> tuple[float, Problem | None]:
    """A JSON value of a numeric feature as the float the model takes (NaN when missing or refused)."""
    if value is None:
        return math.nan, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan, (WRONG_TYPE, f"expected a number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        return math.nan, NOT_FINITE_PROBLEM
    try:
        return float(value), None
    except OverflowError:  # an integer beyond a DOUBLE, the type it is logged as
        return math.nan, (NUMBER_TOO_LARGE, f"an integer of {len(str(abs(value)))} digits is beyond the range of "
                          "a number (about ±1.8e308)")


def read_numbers(values: Sequence[Any]) -> tuple[np.ndarray, list[tuple[int, Problem]]]:
    """A numeric feature's values as floats (NaN where missing or refused) and each refused row's problem.
    A typed array, or a list of plain finite numbers, is read at once; anything else value by value."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        array = values.astype(np.float64)
        return array, [(int(row), NOT_FINITE_PROBLEM) for row in np.flatnonzero(~np.isfinite(array))]
    if all(type(v) is float or type(v) is int for v in values):
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:
            pass
        else:
            if np.isfinite(array).all():
                return array, []
    out = np.empty(len(values), dtype=np.float64)
    problems: list[tuple[int, Problem]] = []
    for row, value in enumerate(values):
        out[row], problem = read_number(value)
        if problem is not None:
            problems.append((row, problem))
    return out, problems


def read_category(value: Any) -> tuple[str | None, Problem | None]:
    """A JSON value of a categorical feature as its text (None when missing or refused), and its problem."""
    text = category_text(value)
    if text is None and value is not None:
        return None, (WRONG_TYPE, f"expected text, an integer or a boolean, got {shown(value)}")
    return text, None


def shown(value: Any) -> str:
    """A refused value as an error message shows it: JSON's words, at most 40 characters."""
    text = repr(value) if isinstance(value, str) else type(value).__name__ if isinstance(value, (dict, list)) \
        else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, slots=True)
class Broken:
    """The rows of a frame's column that break one rule: a mask over the rows, and the values as the rule
    read them (floats, or category texts) for a report's examples."""

    column: str
    kind: str  # WRONG_TYPE, NOT_FINITE, OUT_OF_RANGE or UNKNOWN_CATEGORY
    rows: np.ndarray
    values: pl.Series
    side: str = ""  # out_of_range: BELOW_MIN or ABOVE_MAX

    @property
    def count(self) -> int:
        return int(self.rows.sum())

    def broken_values(self) -> pl.Series:
        return self.values.filter(pl.Series(self.rows))


def column_problems(series: pl.Series, spec: Spec, *, nan_is_missing: bool) -> list[Broken]:
    """Every rule a frame's column breaks, row by row (only rules some row breaks). `nan_is_missing`: NaN
    is a missing value (training data) rather than a number that is not finite (traffic)."""
    if not dtype_fits(spec.kind, series.dtype):
        return [Broken(series.name, WRONG_TYPE, series.is_not_null().to_numpy(), series)]
    if isinstance(spec, NumericColumn):
        found = _number_problems(series, spec, nan_is_missing)
    else:
        found = _category_problems(series, spec)
    return [broken for broken in found if broken.rows.any()]


def _number_problems(series: pl.Series, spec: NumericColumn, nan_is_missing: bool) -> list[Broken]:
    numbers = series.cast(pl.Float64)
    values = numbers.to_numpy()  # missing values become NaN
    not_finite = not_finite_rows(values, series.is_not_null().to_numpy(), nan_is_missing=nan_is_missing)
    below, above = range_sides(values, *bounds(spec))
    return [Broken(series.name, NOT_FINITE, not_finite, numbers),
            Broken(series.name, OUT_OF_RANGE, below, numbers, BELOW_MIN),
            Broken(series.name, OUT_OF_RANGE, above, numbers, ABOVE_MAX)]


def _category_problems(series: pl.Series, spec: CategoricalColumn) -> list[Broken]:
    if spec.any_category:
        return []
    texts = category_series(series)
    unknown = (texts.is_not_null() & ~texts.is_in(spec.categories)).fill_null(False)
    return [Broken(series.name, UNKNOWN_CATEGORY, unknown.to_numpy(), texts)]
