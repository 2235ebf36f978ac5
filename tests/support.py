"""Helpers shared by the tests: paths, the spec template, CLI results, reading the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "flights.parquet"
VIGIL = Path(sys.executable).with_name("vigil")

SPEC = """\
model = "{model}"
description = "test model"
task = "binary"
target = "delayed"
positive_class = true
seed = {seed}

[source]
{source}

[features]
numeric = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
categorical = ["carrier", "origin"]
segments = ["origin"]

[split]
time_column = "time_hour"
holdout_fraction = 0.25

[estimator]
kind = "{estimator}"
params = {params}
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())



def query(home: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Read the store directly (no daemon runs in these tests)."""
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb", read_only=True) as store:
        return store.execute(sql, params or [])


TEAM_CODE = """
\"\"\"The team's feature code.\"\"\"
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

with open({marker!r}, "a") as handle:  # which process loaded this module, and its parent
    handle.write(f"{{os.getpid()}} {{os.getppid()}}\\n")


class LogScale(BaseEstimator, TransformerMixin):
    \"\"\"log1p of non-negative numbers, missing as zero.\"\"\"

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)
        return np.log1p(np.clip(values, 0, None))
"""
TEAM_CODE_PATHS = 'paths = ["team_features.py"]'


def team_model(tmp_path: Path, flights: Path) -> dict[str, Any]:
    """A team's folder: its own code (`team_features.LogScale`), a model fitted with it and saved with
    skops, and a spec that ships the code. Every process that loads the code appends its pid and parent
    pid to `marker`."""
    import importlib

    import polars as pl
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
    categorical = ["carrier", "origin"]
    folder = tmp_path / "team"
    folder.mkdir()
    marker = tmp_path / "loaded-by.txt"
    (folder / "team_features.py").write_text(TEAM_CODE.format(marker=str(marker)))
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module("team_features")
        frame = pl.read_parquet(flights)
        inputs = frame.select([pl.col(c).cast(pl.Float64) for c in numeric] + [pl.col(c) for c in categorical])
        model = Pipeline([("pre", ColumnTransformer([("n", module.LogScale(), numeric),
                                                     ("c", OneHotEncoder(handle_unknown="ignore"), categorical)])),
                          ("lr", LogisticRegression(max_iter=300))])
        model.fit(inputs, frame["delayed"].cast(pl.Int64).to_numpy())
        expected = model.predict_proba(inputs)[:, 1]
        sio.dump(model, folder / "model.skops")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("team_features", None)
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights.as_posix()}"',
                                estimator="logistic_regression", params="{}") + f"\n[code]\n{TEAM_CODE_PATHS}\n")
    return {"folder": folder, "spec": spec, "model": folder / "model.skops", "marker": marker, "expected": expected}


def code_loaders(marker: Path) -> list[tuple[int, int]]:
    """(pid, parent pid) of each process that loaded the team's code, in order."""
    if not marker.exists():
        return []
    return [(int(p), int(pp)) for p, pp in (line.split() for line in marker.read_text().splitlines())]
