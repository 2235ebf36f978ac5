"""A scoring plan answers exactly as its pipeline, holds data only, and is only used when it is intact."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import features_from, model_input
from appliance.plans.compile import compile_plan
from appliance.plans.forest import ROW_BY_ROW
from appliance.plans.plan import ScoringPlan
from appliance.core.inputs import Inputs
from appliance.training.pipeline import build_pipeline
from appliance.training.spec import parse_spec
from tests.support import query

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "flights.parquet"
SPEC = """
model = "m"
task = "{task}"
target = "{target}"
[source]
path = "x.parquet"
[features]
numeric = ["distance", "temp", "visib", "sched_dep_time"]
categorical = {categorical}
[split]
time_column = "time_hour"
[estimator]
kind = "{kind}"
params = {params}
"""


def _fitted(task: str, kind: str = "hist_gradient_boosting", params: str = "{ max_iter = 40 }",
            categorical: str = '["carrier", "origin", "dest"]') -> tuple[object, list, pl.DataFrame]:
    target = "delayed" if task == "binary" else "arr_delay"
    spec = parse_spec(SPEC.format(task=task, target=target, kind=kind, params=params, categorical=categorical)).spec
    features = features_from(spec.features.numeric, spec.features.categorical)
    data = pl.read_parquet(SAMPLE).filter(pl.col("month") == 2).head(4000)
    y = data[target].to_numpy().astype(float) if task == "regression" else data[target].cast(pl.Int8).to_numpy()
    model = build_pipeline(spec, features).fit(model_input(data, features), y)
    later = model_input(pl.read_parquet(SAMPLE).filter(pl.col("month") >= 11).head(5000), features)
    return model, features, later


@pytest.mark.parametrize("task,params,categorical", [
    ("binary", "{ max_iter = 40 }", '["carrier", "origin", "dest"]'),
    ("regression", "{ max_iter = 40 }", '["carrier", "origin", "dest"]'),
    ("binary", "{ max_iter = 25 }", "[]"),
])
def test_a_plan_answers_bit_for_bit_as_its_pipeline(task: str, params: str, categorical: str) -> None:
    model, features, later = _fitted(task, params=params, categorical=categorical)
    plan = compile_plan(model, features, task)
    assert plan is not None
    assert later["temp"].null_count() > 0  # missing numbers are covered (unseen categories: below)
    expected = model.predict_proba(later) if task == "binary" else model.predict(later)
    got = plan(Inputs.from_polars(later, features))
    assert got.shape == np.asarray(expected).shape
    assert np.array_equal(got, expected)
    again = ScoringPlan.from_bytes(plan.to_bytes())  # stored and read back: still exact
    assert np.array_equal(again(Inputs.from_polars(later, features)), expected)
    # A few rows take the row-by-row walk, many the level walk: both exact, at every size around the switch
    for size, starts in ((1, range(0, 600, 3)), *((k, range(0, 400, 37)) for k in (2, 7, ROW_BY_ROW, ROW_BY_ROW + 1))):
        for start in starts:
            got = again(Inputs.from_polars(later.slice(start, size), features))
            assert np.array_equal(got, np.asarray(expected)[start:start + size]), (size, start)


def test_a_log_link_plan_answers_as_its_pipeline() -> None:
    spec = parse_spec(SPEC.format(task="regression", target="arr_delay", kind="hist_gradient_boosting",
                                  params='{ max_iter = 30, loss = "poisson" }', categorical='["carrier"]')).spec
    features = features_from(spec.features.numeric, spec.features.categorical)
    data = pl.read_parquet(SAMPLE).filter(pl.col("month") == 2).head(4000)
    y = np.clip(data["arr_delay"].fill_null(0).to_numpy().astype(float), 0, None)
    model = build_pipeline(spec, features).fit(model_input(data, features), y)
    plan = compile_plan(model, features, "regression")
    assert plan is not None and plan.meta["estimator"]["link"] == "log"
    later = model_input(pl.read_parquet(SAMPLE).filter(pl.col("month") >= 11).head(5000), features)
    assert np.array_equal(plan(Inputs.from_polars(later, features)), model.predict(later))


def test_unseen_categories_and_missing_values_follow_the_pipeline() -> None:
    model, features, later = _fitted("binary")
    plan = compile_plan(model, features, "binary")
    assert plan is not None
    odd = later.head(4).with_columns(
        pl.Series("dest", ["NOWHERE", None, "ALSO_NEW", later["dest"][3]]),
        pl.Series("temp", [None, None, 40.0, None], dtype=pl.Float64))
    expected = model.predict_proba(odd)
    assert np.array_equal(plan(Inputs.from_polars(odd, features)), expected)  # the row-by-row walk
    many = pl.concat([odd] * (ROW_BY_ROW + 1))  # the level walk
    assert np.array_equal(plan(Inputs.from_polars(many, features)), np.concatenate([expected] * (ROW_BY_ROW + 1)))
    for i in range(4):
        assert np.array_equal(plan(Inputs.from_polars(odd.slice(i, 1), features)), expected[i:i + 1])


def test_pipelines_without_an_array_form_get_no_plan() -> None:
    linear, features, _ = _fitted("binary", kind="logistic_regression", params="{}")
    forest, _, _ = _fitted("regression", kind="random_forest", params="{ n_estimators = 3 }")
    hgb, _, _ = _fitted("binary")
    assert compile_plan(linear, features, "regression") is None  # a classifier is never a regression plan
    assert compile_plan(forest, features, "binary") is None  # nor a regressor a binary one
    assert compile_plan(hgb, features, "regression") is None


def test_a_plan_file_is_read_as_data_only() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, __meta__=np.frombuffer(b'{"format": 1}', dtype=np.uint8), x=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        ScoringPlan.from_bytes(buffer.getvalue())
    model, features, _ = _fitted("binary", params="{ max_iter = 5 }")
    plan = compile_plan(model, features, "binary")
    assert plan is not None
    stale = io.BytesIO()
    np.savez(stale, **{**plan.arrays, "__meta__": np.frombuffer(b'{"format": 0}', dtype=np.uint8)})
    with pytest.raises(ValueError, match="format 0"):
        ScoringPlan.from_bytes(stale.getvalue())


def test_training_stores_a_checked_plan_and_a_damaged_one_is_ignored(
        home: Path, cli: Callable[..., object], write_spec: Callable[..., Path]) -> None:
    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.plans.storage import environment, find_plan

    assert cli("train", "--spec", write_spec(), "--home", home).code == 0  # type: ignore[attr-defined]
    rows = query(home, "SELECT v.artifact_sha256, p.plan_path, p.checked_rows, p.environment FROM model_versions v "
                       "JOIN scoring_plans p USING (artifact_sha256)")
    assert len(rows) == 1
    artifact, plan_path, checked, env = rows[0]
    assert int(checked) > 5 and env == environment()  # probe rows plus holdout rows
    with open_context(Home(home), read_only=True) as ctx:
        assert find_plan(ctx.store, home, str(artifact)) is not None
    with (home / str(plan_path)).open("r+b") as handle:  # one flipped byte
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with open_context(Home(home), read_only=True) as ctx:
        assert find_plan(ctx.store, home, str(artifact)) is None
    (home / str(plan_path)).unlink()
    with open_context(Home(home), read_only=True) as ctx:
        assert find_plan(ctx.store, home, str(artifact)) is None


def test_the_trees_follow_scikit_learn_for_missing_values_and_unknown_categories() -> None:
    """The forest alone, fed what the pipeline's imputer never lets through: NaN in every column and
    category codes the estimator never saw, one row at a time and all rows at once."""
    from appliance.plans.forest import forest_runner

    model, features, later = _fitted("binary")
    plan = compile_plan(model, features, "binary")
    assert plan is not None
    estimator = model[-1]
    X = np.asarray(model[:-1].transform(later), dtype=np.float64)[:400].copy()
    rng = np.random.default_rng(3)
    X[rng.random(X.shape) < 0.2] = np.nan
    categorical = np.flatnonzero(estimator.is_categorical_)
    assert len(categorical) == 3
    for column in categorical:
        X[rng.random(len(X)) < 0.1, column] = 250.0  # a code no category has
    expected = estimator.predict_proba(X)
    trees = forest_runner(plan.meta["estimator"], plan._prefixed("e."))
    assert np.array_equal(trees(X), expected)
    for i in range(len(X)):
        assert np.array_equal(trees(X[i:i + 1]), expected[i:i + 1]), i
