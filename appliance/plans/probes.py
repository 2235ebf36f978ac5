"""Rows that exercise a pipeline's edges: each column's range, a missing value, an unseen category."""

from __future__ import annotations

from typing import Any

import polars as pl

from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn
from appliance.contracts.features import NUMERIC, Feature

UNSEEN = "__vigil_unseen__"


def probe_rows(features: list[Feature], contract: Contract) -> pl.DataFrame:
    data: dict[str, list[Any]] = {}
    for feature in features:
        column = contract.columns[feature.name]
        if feature.kind == NUMERIC and isinstance(column, NumericColumn):
            low, high = column.min or 0.0, column.max or 1.0
            data[feature.name] = [low, (low + high) / 2, high, None, column.quantiles.get("p25", low)]
        elif isinstance(column, CategoricalColumn):
            known = column.categories or ["a"]
            data[feature.name] = [known[0], known[-1], None, UNSEEN, known[len(known) // 2]]
    schema = {f.name: (pl.Float64 if f.kind == NUMERIC else pl.String) for f in features}
    return pl.DataFrame(data, schema=schema)
