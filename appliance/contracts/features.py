"""Feature lists and the one conversion from a data frame to a model's input.

Training, evaluation, reproduction and serving all call `model_input`, so a model always sees its
features in the same order and types: numeric features as Float64, categorical features as text (by
the category rule of `contracts.categories`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # polars is imported where a frame is converted, so the plan runtime needs none
    import polars as pl

from appliance.contracts.categories import category_column

NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True, slots=True)
class Feature:
    """One model input column."""

    name: str
    kind: str  # NUMERIC or CATEGORICAL

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind}


def features_from(numeric: Iterable[str], categorical: Iterable[str]) -> list[Feature]:
    return [Feature(n, NUMERIC) for n in numeric] + [Feature(c, CATEGORICAL) for c in categorical]


def features_from_json(items: Iterable[dict[str, Any]]) -> list[Feature]:
    return [Feature(item["name"], item["kind"]) for item in items]


def model_input(frame: pl.DataFrame, features: list[Feature]) -> pl.DataFrame:
    """The feature columns of `frame`, in model order, cast to the model's input types."""
    return frame.select([_cast(frame.schema[f.name], f) for f in features])


def _cast(dtype: pl.DataType, feature: Feature) -> pl.Expr:
    import polars as pl

    column = pl.col(feature.name)
    if feature.kind == NUMERIC:
        return column.cast(pl.Float64)
    return category_column(column, dtype)


def is_numeric_dtype(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def is_categorical_dtype(dtype: pl.DataType) -> bool:
    import polars as pl

    return dtype in (pl.String, pl.Boolean, pl.Categorical) or dtype.is_integer()
