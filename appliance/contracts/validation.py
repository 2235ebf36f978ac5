"""Validate a data frame against a contract: a structured report of every violation.

Training, serving and monitoring all use this one validator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

import polars as pl

from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn, missing_count
from appliance.contracts.features import is_categorical_dtype, is_numeric_dtype

EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which column, what kind, what was seen and what was expected."""

    column: str
    kind: str  # missing_column, wrong_type, missing_rate, below_min, above_max, unknown_category, …
    observed: Any
    expected: Any
    rows: int = 0  # rows affected, when the rule is per row
    examples: tuple[Any, ...] = ()

    def describe(self) -> str:
        where = f"column '{self.column}'" if self.column else "dataset"
        count = f" in {self.rows} rows" if self.rows else ""
        return f"{where}: {self.kind}{count} (observed {self.observed}, expected {self.expected})"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """All violations found in a frame of `row_count` rows."""

    row_count: int
    violations: tuple[Violation, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "row_count": self.row_count,
            "violations": [asdict(v) | {"examples": list(v.examples)} for v in self.violations],
        }

    def summary(self) -> str:
        return "; ".join(v.describe() for v in self.violations)


def validate_frame(frame: pl.DataFrame, contract: Contract) -> ValidationReport:
    """Check columns, types, missing rates, ranges and categories of `frame` against `contract`."""
    violations: list[Violation] = []
    for name, column in contract.columns.items():
        if name not in frame.columns:
            violations.append(Violation(name, "missing_column", "absent", column.kind))
            continue
        violations.extend(_check_column(frame[name], column))
    return ValidationReport(frame.height, tuple(violations))


def _check_column(series: pl.Series, column: NumericColumn | CategoricalColumn) -> list[Violation]:
    name = series.name
    if isinstance(column, NumericColumn) and not is_numeric_dtype(series.dtype):
        return [Violation(name, "wrong_type", str(series.dtype), "numeric")]
    if isinstance(column, CategoricalColumn) and not is_categorical_dtype(series.dtype):
        return [Violation(name, "wrong_type", str(series.dtype), "text, boolean or integer")]
    found = _check_missing(series, column.max_missing_rate)
    if isinstance(column, NumericColumn):
        return found + _check_range(series.cast(pl.Float64).drop_nulls().drop_nans(), column)
    return found + _check_categories(series, column)


def _check_missing(series: pl.Series, limit: float) -> list[Violation]:
    if series.is_empty():
        return []
    missing = missing_count(series)
    rate = missing / len(series)
    if rate <= limit:
        return []
    return [Violation(series.name, "missing_rate", round(rate, 6), f"<= {limit}", missing)]


def _check_range(series: pl.Series, column: NumericColumn) -> list[Violation]:
    found = []
    if column.min is not None:
        low = series.filter(series < column.min)
        if len(low):
            found.append(
                Violation(series.name, "below_min", float(cast(float, low.min())), f">= {column.min}", len(low),
                          tuple(low.head(EXAMPLES).to_list()))
            )
    if column.max is not None:
        high = series.filter(series > column.max)
        if len(high):
            found.append(
                Violation(series.name, "above_max", float(cast(float, high.max())), f"<= {column.max}", len(high),
                          tuple(high.head(EXAMPLES).to_list()))
            )
    return found


def _check_categories(series: pl.Series, column: CategoricalColumn) -> list[Violation]:
    if column.any_category:
        return []
    text = series.cast(pl.String)
    if series.dtype == pl.Boolean:
        text = text.str.to_lowercase()
    unknown = text.drop_nulls().filter(~text.drop_nulls().is_in(column.categories))
    if unknown.is_empty():
        return []
    counts = unknown.alias("value").value_counts(sort=True, name="rows")
    examples = tuple(counts["value"].head(EXAMPLES).to_list())
    return [
        Violation(series.name, "unknown_category", list(examples), f"one of {len(column.categories)} categories",
                  len(unknown), examples)
    ]
