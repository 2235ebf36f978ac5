"""The data contract of a model version: per-column types, ranges, categories and missing limits.

Inferred from the training data, stored with the version, exported and edited as TOML.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, Collection, Literal, Union, cast

import polars as pl
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.contracts.categories import category_series
from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
from appliance.errors import ContractError
from appliance.field_errors import describe

MISSING_SLACK = 0.05  # inferred limit = observed missing rate + this, capped at 1
MAX_CATEGORIES = 1000  # above this many distinct values a categorical column accepts any value
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NumericColumn(_Strict):
    kind: Literal["numeric"] = "numeric"
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] = Field(default_factory=dict)
    max_missing_rate: float = Field(MISSING_SLACK, ge=0.0, le=1.0)


class CategoricalColumn(_Strict):
    kind: Literal["categorical"] = "categorical"
    categories: list[str] = Field(default_factory=list)
    any_category: bool = False
    max_missing_rate: float = Field(MISSING_SLACK, ge=0.0, le=1.0)


Column = Annotated[Union[NumericColumn, CategoricalColumn], Field(discriminator="kind")]


class Contract(_Strict):
    """Columns in model input order."""

    columns: dict[str, Column]

    def to_toml(self) -> str:
        header = (
            "# Vigil data contract. Edit and apply with `vigil contract apply NAME VERSION FILE`.\n"
            "# numeric: min/max bound accepted values; categorical: categories lists accepted values\n"
            "# (any_category = true accepts any); max_missing_rate bounds the share of missing values.\n\n"
        )
        return header + tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_toml(cls, text: str, source: str = "contract") -> "Contract":
        try:
            return cls.model_validate(tomllib.loads(text))
        except tomllib.TOMLDecodeError as e:
            raise ContractError(f"{source} is not valid TOML ({e}); fix the file") from e
        except ValidationError as e:
            raise ContractError(f"{source}: {describe(e)}") from e

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Contract":
        return cls.model_validate(data)

    def check_features(self, features: list[Feature]) -> None:
        """An edited contract must keep the version's features and their kinds."""
        expected = {f.name: f.kind for f in features}
        actual = {name: column.kind for name, column in self.columns.items()}
        if expected != actual:
            raise ContractError(
                f"contract columns {actual} do not match the version's features {expected}; "
                "a contract may change limits, not columns"
            )


def infer_contract(frame: pl.DataFrame, features: list[Feature], optional: Collection[str] = ()) -> Contract:
    """The contract the training data satisfies, with a small slack on missing rates; a column in
    `optional` (declared optional by the model's own signature) may be missing in any share of rows."""
    columns: dict[str, NumericColumn | CategoricalColumn] = {}
    for feature in features:
        series = frame[feature.name]
        missing = 1.0 if feature.name in optional else _missing_limit(series)
        if feature.kind == NUMERIC:
            columns[feature.name] = _numeric(series.cast(pl.Float64), missing)
        else:
            columns[feature.name] = _categorical(series, missing)
    return Contract(columns=columns)


def missing_count(series: pl.Series) -> int:
    """Nulls, and NaNs in float columns: both are missing to Vigil."""
    missing = series.null_count()
    if series.dtype.is_float():
        missing += int(series.is_nan().sum() or 0)
    return missing


def _missing_limit(series: pl.Series) -> float:
    rate = missing_count(series) / len(series) if len(series) else 0.0
    return round(min(1.0, rate + MISSING_SLACK), 6)


def _numeric(series: pl.Series, missing: float) -> NumericColumn:
    values = series.drop_nulls().drop_nans()
    if values.is_empty():
        return NumericColumn(max_missing_rate=missing)
    quantiles = {f"p{round(q * 100):02d}": float(cast(float, values.quantile(q, "linear"))) for q in QUANTILES}
    return NumericColumn(
        min=float(cast(float, values.min())), max=float(cast(float, values.max())), quantiles=quantiles,
        max_missing_rate=missing,
    )


def _categorical(series: pl.Series, missing: float) -> CategoricalColumn:
    values = sorted(category_series(series).drop_nulls().unique().to_list())
    if len(values) > MAX_CATEGORIES:
        return CategoricalColumn(any_category=True, max_missing_rate=missing)
    return CategoricalColumn(categories=values, max_missing_rate=missing)

