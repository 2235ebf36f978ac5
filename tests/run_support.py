"""Helpers of the cluster-run tests: a home with a model, its key and its exported plan, later flights with
bad cells of every kind, split into input files, and runs made with the recipe's writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from appliance.cli.main import main
from support import SAMPLE, SPEC

POLICY = '[serving.models.delay]\nunknown_category = "reject"\n'


def run(*args: Any) -> None:
    assert main([str(a) for a in args]) == 0, args


def build_home(root: Path, flights_small: Path, *, max_iter: int = 20, model: str = "delay") -> dict[str, Any]:
    """A home with `model` v1 (scikit-learn boosting) as champion, a signing key and v1's plan package."""
    home = root / "home"
    run("init", "--home", home)
    (home / "vigil.toml").write_text(POLICY.replace("delay", model))
    spec = root / f"{model}.toml"
    spec.write_text(SPEC.format(model=model, seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params=f"{{ max_iter = {max_iter} }}"))
    run("train", "--spec", spec, "--home", home)
    run("promote", model, "1", "--to", "champion", "--reason", "first", "--home", home)
    run("keys", "init", "--home", home)
    run("plan", "export", model, "1", root / "plan", "--home", home)
    key = json.loads((root / "plan" / "signature.json").read_text())["public_key"]
    return {"root": root, "home": home, "package": root / "plan", "key": key}


def later_flights(root: Path, every: int = 12) -> list[Path]:
    """April to December's flights with distance as text (a few cells no number, a few out of range), a few
    NaN temperatures and unknown carriers, as one file (`all.parquet`) and as two parts of it."""
    frame = pl.read_parquet(SAMPLE).filter(pl.col("month") >= 4).gather_every(every)
    row = pl.int_range(pl.len())
    frame = frame.with_columns(
        pl.when(row % 97 == 0).then(pl.lit("n/a")).when(row % 89 == 0).then(pl.lit("99999"))
        .otherwise(pl.col("distance").cast(pl.String)).alias("distance"),
        pl.when(row % 53 == 0).then(float("nan")).otherwise(pl.col("temp")).alias("temp"),
        pl.when(row % 71 == 0).then(pl.lit("ZZ")).otherwise(pl.col("carrier")).alias("carrier"))
    whole, first, second = root / "all.parquet", root / "in-0.parquet", root / "in-1.parquet"
    frame.write_parquet(whole)
    cut = frame.height * 2 // 3
    frame[:cut].write_parquet(first)
    frame[cut:].write_parquet(second)
    return [whole, first, second]


def local_run(built: dict[str, Any], inputs: list[Path], run_dir: Path, **options: Any) -> dict[str, Any]:
    """A run of `inputs` scored with the home's package by the recipe's writer (no Spark)."""
    from appliance.plans.portable import load_plan
    from appliance.plans.run_files import score_locally

    plan = load_plan(built["package"], trusted_key=built["key"])
    return score_locally(plan, [str(p) for p in inputs], run_dir, **options)
