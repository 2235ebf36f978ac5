"""A version's training rows as drift's reference: the rows of its snapshot before its holdout, in
time order, typed as model input."""

from __future__ import annotations

from typing import Any

import polars as pl

from appliance.contracts.features import Feature, model_input
from appliance.home.context import AppContext
from appliance.training.dataset import load_snapshot


def training_inputs(ctx: AppContext, row: dict[str, Any], features: list[Feature]) -> pl.DataFrame:
    """The feature columns of the version's training rows (before its holdout), oldest first."""
    time_column = row["time_column"]
    frame = load_snapshot(ctx.home.root / row["snapshot_path"], time_column)
    training = frame.filter(pl.col(time_column) < row["holdout_start"]).sort(time_column, maintain_order=True)
    return model_input(training, features)
