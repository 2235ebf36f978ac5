"""Helpers shared by the tests: paths, the spec template, CLI results, reading the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass
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
