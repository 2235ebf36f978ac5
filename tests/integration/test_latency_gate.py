"""The latency gate measures a version as `vigil up` serves it: its engine, the daemon's thread limit, warm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, QuantileTransformer

from appliance.release.gates import WARM_UP_CALLS
from appliance.core.threads import SETTING
from support import query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


def _boosting_pipeline(data: Path) -> Pipeline:
    """A team's own scikit-learn boosting pipeline, as the daemon would serve it with OpenMP trees."""
    frame = pl.read_parquet(data)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c) for c in CATEGORICAL])
    columns = ColumnTransformer([("n", QuantileTransformer(n_quantiles=100), NUMERIC),  # no plan form
                                 ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                                  CATEGORICAL)])
    trees = HistGradientBoostingClassifier(max_iter=40, categorical_features=[5, 6], random_state=0)
    labels = np.where(frame["delayed"].to_numpy(), "true", "false")
    return Pipeline([("columns", columns), ("trees", trees)]).fit(inputs, labels)


def test_the_gate_says_what_it_measured_and_measures_under_the_daemons_threads(
        home: Path, cli: Callable[..., Any], write_spec: Callable[..., Path], flights_small: Path,
        tmp_path: Path) -> None:
    complete = tmp_path / "complete.parquet"
    pl.read_parquet(flights_small).drop_nulls(NUMERIC).write_parquet(complete)
    spec = write_spec(source=f'path = "{complete.as_posix()}"')
    file = tmp_path / "boosting.skops"
    sio.dump(_boosting_pipeline(complete), file)
    imported = cli("import", "delay", file, "--spec", spec, "--reason", "team model", "--home", home)
    assert imported.code == 0, imported.err
    (home / "vigil.toml").write_text("[promotion]\nlatency_budget_ms = 10000.0\n")
    promoted = cli("promote", "delay", "1", "--to", "champion", "--reason", "go live", "--home", home)
    assert promoted.code == 0, promoted.out + promoted.err
    [(passed, detail)] = query(home, "SELECT passed, detail FROM promotion_evidence WHERE gate = 'latency'")
    engine = re.search(r"through the (plan|fast path|pipeline),", detail)
    assert passed is True and engine is not None, detail
    assert f"after {WARM_UP_CALLS} warm-up calls, under {SETTING} as vigil up serves" in detail
    planned = query(home, "SELECT count(*) FROM scoring_plans")[0][0]
    assert (engine.group(1) == "plan") == (planned == 1)  # a plan measured is the plan kept for serving
