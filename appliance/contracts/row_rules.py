"""The contract rules' words and their row tests on NumPy arrays, with no data-frame library.

`contracts.rules` applies them to polars frames (batch scoring, training's checks) and to JSON values
(the scoring API); the portable scoring plan (`appliance.plans.portable`) applies them to a pandas or
Arrow batch on a machine without polars. Both name what they find with the same words, so a row is
refused or flagged for the same reason wherever it is scored.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

import numpy as np

MISSING_COLUMN = "missing_column"
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
NUMBER_TOO_LARGE = "number_too_large"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_CATEGORY = "unknown_category"
MISSING_RATE = "missing_rate"
BELOW_MIN = "below_min"  # out_of_range below the column's min, as a frame's report names it
ABOVE_MAX = "above_max"

NUMERIC_KIND = "numeric"  # a feature's kind (contracts.features.NUMERIC)
WRONG_VALUE = {NUMERIC_KIND: "not a number", "categorical": "not text, an integer or a boolean"}  # a batch row

Problem = tuple[str, str]  # (kind, what is wrong in words)
NOT_FINITE_PROBLEM: Problem = (NOT_FINITE, "NaN or infinity is not a number Vigil accepts")


class Policy(Protocol):
    """What a model does with a value outside its contract: "reject" it, or "flag" it and answer."""

    @property
    def unknown_category(self) -> str: ...

    @property
    def out_of_range(self) -> str: ...


def refuses(kind: str, policy: Policy) -> bool:
    """Whether a problem of `kind` refuses its row under `policy` (otherwise the row is answered, flagged)."""
    if kind == UNKNOWN_CATEGORY:
        return policy.unknown_category == "reject"
    if kind == OUT_OF_RANGE:
        return policy.out_of_range == "reject"
    return True


def flag(kind: str, column: str) -> str:
    """The mark a flagged row carries (`unknown_category:carrier`), in answers, the log and batch outputs."""
    return f"{kind}:{column}"


def reason(kind: str, column: str, feature_kind: str) -> str:
    """A batch row's reason: the flag's words for a policy's problem, else `column: what is wrong`.

    >>> reason(OUT_OF_RANGE, "distance", "numeric"), reason(WRONG_TYPE, "distance", "numeric")
    ('out_of_range:distance', 'distance: not a number')
    """
    if kind in (UNKNOWN_CATEGORY, OUT_OF_RANGE):
        return flag(kind, column)
    if kind == WRONG_TYPE:
        return f"{column}: {WRONG_VALUE[feature_kind]}"
    return f"{column}: not finite"


def missing_columns(missing: Sequence[str], version: int) -> str:
    """Why a batch without some of the version's feature columns is not scored at all."""
    return f"the input has no column {', '.join(missing)}, which v{version} needs; nothing scored"


def range_sides(values: np.ndarray, low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the finite values below `low` and above `high` (arrays broadcast over columns); missing and
    non-finite values are never out of range.

    >>> [m.tolist() for m in range_sides(np.array([0.0, 5.0, np.nan, np.inf]), 1.0, 4.0)]
    [[True, False, False, False], [False, True, False, False]]
    """
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values)
        return finite & (values < low), finite & (values > high)


def not_finite_rows(values: np.ndarray, present: np.ndarray, *, nan_is_missing: bool) -> np.ndarray:
    """Rows whose number is infinite, or NaN where a value is present (unless NaN means missing, as in
    training data). `values` holds NaN where `present` is False.

    >>> not_finite_rows(np.array([1.0, np.inf, np.nan, np.nan]), np.array([True, True, True, False]),
    ...                 nan_is_missing=False).tolist()
    [False, True, True, False]
    """
    found = np.isinf(values)
    if not nan_is_missing:
        found |= np.isnan(values) & present
    return found


def unknown_rows(texts: Sequence[str | None], known: frozenset[str] | None) -> np.ndarray:
    """Rows whose category text is present and not among `known` (None: the column accepts any).

    >>> unknown_rows(["AA", "ZZ", None], frozenset({"AA"})).tolist()
    [False, True, False]
    """
    if known is None:
        return np.zeros(len(texts), dtype=bool)
    return np.fromiter((text is not None and text not in known for text in texts), dtype=bool, count=len(texts))
