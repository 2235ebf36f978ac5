"""A request's validated model input as arrays: one float matrix for the numeric features, one object
matrix for the categorical ones. Cheaper to build, batch and log than a data frame; a polars frame is
made only for models that need one (those without the fast path)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # polars is imported where a frame is made, so the plan runtime needs none
    import polars as pl

from appliance.contracts.features import NUMERIC, Feature


@dataclass(frozen=True, slots=True)
class Inputs:
    features: tuple[Feature, ...]
    numeric: np.ndarray  # (rows, numeric features) float64; NaN is missing
    categorical: np.ndarray  # (rows, categorical features) object; None is missing

    @property
    def height(self) -> int:
        return int(self.numeric.shape[0] if self.numeric.size or not self.categorical.size else
                   self.categorical.shape[0])

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The named columns as one matrix (float if all numeric, else object)."""
        positions = _positions(self.features)
        kinds = {positions[n][0] for n in names}
        if kinds == {NUMERIC}:
            return self.numeric[:, [positions[n][1] for n in names]]
        if NUMERIC not in kinds:
            return self.categorical[:, [positions[n][1] for n in names]]
        return np.column_stack([self.numeric[:, positions[n][1]].astype(object) if positions[n][0] == NUMERIC
                                else self.categorical[:, positions[n][1]] for n in names])

    def to_polars(self) -> pl.DataFrame:
        import polars as pl

        data: dict[str, Any] = {}
        positions = _positions(self.features)
        for feature in self.features:
            kind, index = positions[feature.name]
            if kind == NUMERIC:
                data[feature.name] = pl.Series(feature.name, self.numeric[:, index]).fill_nan(None)
            else:
                data[feature.name] = pl.Series(feature.name, self.categorical[:, index].tolist(), dtype=pl.String)
        return pl.DataFrame(data)

    def rows(self) -> list[tuple[Any, ...]]:
        """Rows in feature order, missing values as None (for the typed input table)."""
        numeric = [[None if v != v else v for v in row] for row in self.numeric.tolist()]
        categorical = self.categorical.tolist()
        positions = _positions(self.features)
        order = [positions[f.name] for f in self.features]
        return [tuple(num[i] if kind == NUMERIC else cat[i] for kind, i in order)
                for num, cat in zip(numeric, categorical)]

    @classmethod
    def concat(cls, parts: list["Inputs"]) -> "Inputs":
        if len(parts) == 1:
            return parts[0]
        return cls(parts[0].features, np.concatenate([p.numeric for p in parts]),
                   np.concatenate([p.categorical for p in parts]))

    @classmethod
    def from_polars(cls, frame: pl.DataFrame, features: Sequence[Feature]) -> "Inputs":
        import polars as pl

        numeric = [f.name for f in features if f.kind == NUMERIC]
        categorical = [f.name for f in features if f.kind != NUMERIC]
        numbers = frame.select([pl.col(n).cast(pl.Float64).fill_null(float("nan")) for n in numeric]).to_numpy() \
            if numeric else np.empty((frame.height, 0))
        texts = np.array(frame.select([pl.col(c).cast(pl.String) for c in categorical]).rows(), dtype=object) \
            if categorical else np.empty((frame.height, 0), dtype=object)
        return cls(tuple(features), np.asarray(numbers, dtype=np.float64).reshape(frame.height, len(numeric)),
                   texts.reshape(frame.height, len(categorical)))


@lru_cache(maxsize=256)
def _positions(features: tuple[Feature, ...]) -> dict[str, tuple[str, int]]:
    numeric = categorical = 0
    found: dict[str, tuple[str, int]] = {}
    for feature in features:
        if feature.kind == NUMERIC:
            found[feature.name] = (NUMERIC, numeric)
            numeric += 1
        else:
            found[feature.name] = ("categorical", categorical)
            categorical += 1
    return found
