"""What the plan benchmarks share: the sample flight-delay spec with another estimator, fitted on
January-June, with its scoring plan (bench/sklearn_plans.py, bench/plan_rows.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import polars as pl

from appliance.contracts.features import Feature, features_from, model_input
from appliance.core.threads import pin_library_threads
from appliance.plans.compile import explain_plan
from appliance.training.pipeline import build_pipeline
from appliance.training.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "sample_data" / "flight_delay.toml"


def flight_spec(kind: str, params: str) -> Any:
    """The sample spec's model, target and features with estimator `kind` and its `params` (TOML)."""
    sample = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    features = sample["features"]
    text = (f'model = "{sample["model"]}"\ntask = "binary"\ntarget = "{sample["target"]}"\nseed = {sample["seed"]}\n'
            f'[source]\npath = "flights.parquet"\n[features]\nnumeric = {json.dumps(features["numeric"])}\n'
            f'categorical = {json.dumps(features["categorical"])}\n[split]\ntime_column = "time_hour"\n'
            f'[estimator]\nkind = "{kind}"\nparams = {params}\n')
    return parse_spec(text).spec


def fitted_with_plan(kind: str, params: str, flights: pl.DataFrame) -> tuple[Any, list[Feature], pl.DataFrame, Any, Any]:
    """(spec, features, training rows, the fitted pipeline on one thread, its scoring plan); exits when
    the pipeline has no plan."""
    spec = flight_spec(kind, params)
    features = features_from(spec.features.numeric, spec.features.categorical)
    train = flights.filter(pl.col("month") <= 6)
    model = build_pipeline(spec, features).fit(model_input(train, features), train[spec.target].cast(pl.Int8).to_numpy())
    pin_library_threads(model)
    plan, why = explain_plan(model, features, "binary")
    if plan is None:
        raise SystemExit(f"{kind}: no plan ({why})")
    return spec, features, train, model, plan
