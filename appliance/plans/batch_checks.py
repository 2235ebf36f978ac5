"""A batch's rows checked against a version's contract, as `vigil score` checks them, without polars.

Per feature, in model order, the same rules and words as batch scoring (`appliance.serving.batch_scoring`
with `appliance.contracts.rules`), from `appliance.contracts.row_rules`:
- a numeric feature held as text is read row by row (a value that is no number refuses its row:
  `wrong_type`); one of another kind refuses every row that has a value;
- numbers: infinite or NaN refuses the row (`not_finite`); below the contract's min or above its max is
  `out_of_range`;
- a categorical feature takes text, booleans and integers (as text by the category rule); outside the
  contract's categories is `unknown_category`; any other kind refuses every row that has a value.
`out_of_range` and `unknown_category` refuse the row or flag it as the model's policy says; everything
else refuses it. The result is each row's reasons and flags, and the accepted rows' model input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from appliance.contracts import row_rules
from appliance.contracts.categories import category_text
from appliance.contracts.features import NUMERIC, Feature
from appliance.core.inputs import Inputs
from appliance.plans.batch_columns import BOOLEAN, INTEGER, NUMBER, TEXT, BatchColumn

_NUMBER_TEXT = re.compile(r"[\x21-\x7e]+")  # what the Parquet reader parses: ASCII, no spaces inside


@dataclass(frozen=True, slots=True)
class Policy:
    unknown_category: str = "reject"
    out_of_range: str = "reject"


@dataclass(frozen=True, slots=True)
class Checked:
    rows: int
    reasons: dict[int, list[str]]  # the refused rows: why each is refused
    flags: dict[int, list[str]]  # the accepted rows with problems their policy accepts: which
    accepted: np.ndarray  # bool per row
    inputs: Inputs  # the accepted rows' model input

    def per_row(self, found: dict[int, list[str]]) -> list[list[str]]:
        """`reasons` or `flags` as one list per row (empty where none)."""
        return [found.get(row, []) for row in range(self.rows)]


def check_rows(column: Callable[[str], BatchColumn], rows: int, features: Sequence[Feature],
               contract: Mapping[str, Mapping[str, Any]], policy: Policy) -> Checked:
    """`column(name)` reads a feature's column; `contract` maps a column to its contract entry (as JSON)."""
    reasons: dict[int, list[str]] = {}
    flags: dict[int, list[str]] = {}
    numeric: list[np.ndarray] = []
    categorical: list[np.ndarray] = []
    for feature in features:
        spec = contract.get(feature.name) or {}
        found = column(feature.name)
        if feature.kind == NUMERIC:
            problems, values = _numeric(feature.name, found, spec)
            numeric.append(values)
        else:
            problems, values = _categorical(found, spec)
            categorical.append(values)
        for kind, mask in problems:
            text = row_rules.reason(kind, feature.name, feature.kind)
            target = reasons if row_rules.refuses(kind, policy) else flags
            for row in np.flatnonzero(mask).tolist():
                target.setdefault(row, []).append(text)
    accepted = np.ones(rows, dtype=bool)
    accepted[list(reasons)] = False
    inputs = Inputs(tuple(features), _matrix(numeric, rows, np.float64)[accepted],
                    _matrix(categorical, rows, object)[accepted])
    return Checked(rows, reasons, {row: found for row, found in flags.items() if row not in reasons}, accepted,
                   inputs)


Problems = list[tuple[str, np.ndarray]]


def _numeric(name: str, found: BatchColumn, spec: Mapping[str, Any]) -> tuple[Problems, np.ndarray]:
    problems: Problems = []
    if found.kind == TEXT:
        parsed = [_number(v) for v in found.values]
        values = np.array([math.nan if v is None else v for v in parsed], dtype=np.float64)
        readable = np.array([v is not None for v in parsed], dtype=bool)
        problems.append((row_rules.WRONG_TYPE, found.present & ~readable))
        present = found.present & readable
    elif found.kind in (NUMBER, INTEGER):
        values, present = found.values, found.present
    else:
        return [(row_rules.WRONG_TYPE, found.present)], np.full(len(found.present), math.nan)
    low = -math.inf if spec.get("min") is None else float(spec["min"])
    high = math.inf if spec.get("max") is None else float(spec["max"])
    below, above = row_rules.range_sides(values, low, high)
    problems += [(row_rules.NOT_FINITE, row_rules.not_finite_rows(values, present, nan_is_missing=False)),
                 (row_rules.OUT_OF_RANGE, below), (row_rules.OUT_OF_RANGE, above)]
    return [(kind, mask) for kind, mask in problems if mask.any()], values


def _categorical(found: BatchColumn, spec: Mapping[str, Any]) -> tuple[Problems, np.ndarray]:
    if found.kind not in (TEXT, BOOLEAN, INTEGER):
        return [(row_rules.WRONG_TYPE, found.present)], np.full(len(found.present), None, dtype=object)
    if found.kind == TEXT:  # text is its own category text
        texts = found.values
    else:
        raw = found.integers.tolist() if found.integers is not None else found.values.tolist()
        texts = np.empty(len(raw), dtype=object)
        texts[:] = [category_text(v) if present else None for v, present in zip(raw, found.present.tolist())]
    known = None if spec.get("any_category") or "categories" not in spec else frozenset(spec["categories"])
    unknown = row_rules.unknown_rows(texts.tolist(), known)
    return ([(row_rules.UNKNOWN_CATEGORY, unknown)] if unknown.any() else []), texts


def _number(value: Any) -> float | None:
    """A text cell as the number the Parquet reader makes of it ("1e3", " 12 ", "inf", "nan"), or None when
    it is none (nor is a missing cell)."""
    if value is None:
        return None
    text = value.strip()
    if not _NUMBER_TEXT.fullmatch(text) or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _matrix(columns: list[np.ndarray], rows: int, dtype: Any) -> np.ndarray:
    if not columns:
        return np.empty((rows, 0), dtype=dtype)
    return np.column_stack(columns).astype(dtype, copy=False) if dtype is not object else \
        _object_matrix(columns, rows)


def _object_matrix(columns: list[np.ndarray], rows: int) -> np.ndarray:
    out = np.empty((rows, len(columns)), dtype=object)
    for j, values in enumerate(columns):
        out[:, j] = values
    return out
