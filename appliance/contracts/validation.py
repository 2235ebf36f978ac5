"""Validate a data frame against a contract: a structured report of every violation.

The frame's report of `contracts.rules`, the rules the scoring API and batch scoring apply row by row:
`vigil contract check`, the release gate's check of recent traffic and the demo use it, and training
checks its dataset's types and missing rates with the same functions. In a frame NaN counts as missing,
as pandas writes missing values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

import polars as pl

from appliance.contracts import rules
from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn, missing_count

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
            violations.append(Violation(name, rules.MISSING_COLUMN, "absent", column.kind))
            continue
        violations.extend(_check_column(frame[name], column))
    return ValidationReport(frame.height, tuple(violations))


def missing_rate_violation(series: pl.Series, limit: float) -> Violation | None:
    """The column's share of missing values (nulls and NaNs), when it is over `limit`."""
    if series.is_empty():
        return None
    missing = missing_count(series)
    rate = missing / len(series)
    if rate <= limit:
        return None
    return Violation(series.name, rules.MISSING_RATE, round(rate, 6), f"<= {limit}", missing)


def _check_column(series: pl.Series, column: NumericColumn | CategoricalColumn) -> list[Violation]:
    if not rules.dtype_fits(column.kind, series.dtype):
        return [Violation(series.name, rules.WRONG_TYPE, str(series.dtype), rules.EXPECTED_TYPE[column.kind])]
    missing = missing_rate_violation(series, column.max_missing_rate)
    found = [missing] if missing is not None else []
    return found + [_violation(broken, column) for broken in rules.column_problems(series, column, nan_is_missing=True)]


def _violation(broken: rules.Broken, column: NumericColumn | CategoricalColumn) -> Violation:
    """One rule's broken rows, counted, with the first examples (unknown categories: the most frequent)."""
    values = broken.broken_values()
    if broken.kind == rules.UNKNOWN_CATEGORY and isinstance(column, CategoricalColumn):
        counts = values.alias("value").value_counts(sort=True, name="rows")
        examples = tuple(counts["value"].head(EXAMPLES).to_list())
        return Violation(broken.column, broken.kind, list(examples), f"one of {len(column.categories)} categories",
                         broken.count, examples)
    examples = tuple(values.head(EXAMPLES).to_list())
    if broken.side == rules.BELOW_MIN and isinstance(column, NumericColumn):
        return Violation(broken.column, broken.side, float(cast(float, values.min())), f">= {column.min}",
                         broken.count, examples)
    if broken.side == rules.ABOVE_MAX and isinstance(column, NumericColumn):
        return Violation(broken.column, broken.side, float(cast(float, values.max())), f"<= {column.max}",
                         broken.count, examples)
    return Violation(broken.column, broken.kind, list(examples), "a finite number", broken.count, examples)
