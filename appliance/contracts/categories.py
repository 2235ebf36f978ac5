"""The category rule: how a value becomes a category's text, wherever one is compared, stored or scored.

Text is itself, a boolean is "true" or "false", an integer its digits; nothing else is a category (a
float such as 1.0 would make "1.0" and "1" two categories, so it is refused). Contract inference, model
input, training labels, imported classes, the scoring API, feedback and batch scoring all convert
through here: a value at a time (`category_text`), or a frame's column at once (`category_column`,
`category_series`); a test pins the two forms to each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # polars is imported where a frame is converted, so the plan runtime needs none
    import polars as pl


def category_text(value: Any) -> str | None:
    """`value` as a category's text, or None when it is missing or not a category (a float, an object).

    >>> [category_text(v) for v in (True, False, 7, "AA", 1.0, None)]
    ['true', 'false', '7', 'AA', None, None]
    """
    if type(value) is str:
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return None


def label_text(value: Any) -> str:
    """A label or a model's class as text: the category rule, and any other value as Python writes it."""
    text = category_text(value)
    return str(value) if text is None else text


def category_column(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The category rule over a frame's column of `dtype` (text, boolean, integer or categorical)."""
    import polars as pl

    if dtype == pl.Boolean:
        return column.cast(pl.String).str.to_lowercase()
    return column.cast(pl.String)


def category_series(series: pl.Series) -> pl.Series:
    """The category rule over a whole series; missing values stay missing."""
    import polars as pl

    return series.to_frame().select(category_column(pl.col(series.name), series.dtype)).to_series()
