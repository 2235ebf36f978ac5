"""The Spark recipe (`appliance.plans.spark_recipe`, quoted in docs/scaling.md) in PySpark's local mode on the
shipped flights, with bad cells of every kind, read from two input files: every answered row's score is
`vigil score`'s on the same rows, bit for bit, every refused row is refused with the same reasons, the
manifest counts and hashes what was written, and `vigil log import` brings the run home unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import polars as pl
import pytest

from run_support import build_home, later_flights
from support import query

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import appliance from this interpreter
    session = (SparkSession.builder.master("local[2]").appName("vigil-recipe")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "512m")
               .config("spark.sql.shuffle.partitions", "2").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, flights_small: Path, spark: Any) -> dict[str, Any]:
    """The home, `vigil score` of the whole input, and the Spark run of the same rows in two files."""
    from appliance.cli.main import main
    from appliance.plans.spark_recipe import score_on_spark

    root = tmp_path_factory.mktemp("recipe")
    built = build_home(root, flights_small)
    whole, first, second = later_flights(root)
    scored = root / "scored.parquet"
    assert main(["score", "delay", "--version", "1", "--input", str(whole), "--output", str(scored),
                 "--home", str(built["home"])]) == 0
    [(batch_id,)] = query(built["home"], "SELECT DISTINCT request_id FROM prediction_log")
    manifest = score_on_spark(spark, str(built["package"]), trusted_key=built["key"],
                              inputs=[str(first), str(second)], run_dir=str(root / "run"))
    return {**built, "whole": whole, "scored": scored, "batch_id": batch_id, "manifest": manifest,
            "run": root / "run"}


def _table(run: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(run / table / "**" / "*.parquet", hive_partitioning=False).sort("input_row")


def test_every_row_equals_vigil_score_bit_for_bit_and_rejects_are_the_same(ran: dict[str, Any]) -> None:
    theirs = pl.read_parquet(ran["scored"]).sort("input_row")
    their_rejects = pl.read_parquet(ran["scored"].with_name("scored.rejects.parquet")).sort("input_row")
    ours, our_rejects = _table(ran["run"], "predictions"), _table(ran["run"], "rejects")
    assert their_rejects.height >= 100 and theirs.height >= 4_000
    assert ours["input_row"].to_list() == theirs["input_row"].to_list()
    assert np.array_equal(ours["score"].to_numpy(), theirs["score"].to_numpy())  # the same bits
    assert np.array_equal(ours["prediction"].to_numpy(), theirs["prediction"].to_numpy())
    assert our_rejects["input_row"].to_list() == their_rejects["input_row"].to_list()
    assert our_rejects["reasons"].to_list() == their_rejects["reasons"].to_list()
    flags = dict(query(ran["home"], "SELECT row_index, flags FROM prediction_log WHERE request_id = ? "
                                    "AND len(flags) > 0", [ran["batch_id"]]))
    flagged = ours.filter(pl.col("flags").list.len() > 0)
    assert len(flags) >= 10 and dict(zip(flagged["input_row"], flagged["flags"].to_list())) == flags
    assert ours["input"].struct.field("carrier").to_list() == theirs["carrier"].to_list()  # inputs carried


def test_the_manifest_counts_and_hashes_what_was_written(ran: dict[str, Any], spark: Any) -> None:
    from appliance.plans.portable import load_plan

    manifest, run = ran["manifest"], ran["run"]
    plan = load_plan(ran["package"], trusted_key=ran["key"])
    rows = pl.read_parquet(ran["whole"]).height
    rejected = pl.read_parquet(ran["scored"].with_name("scored.rejects.parquet")).height
    assert re.fullmatch(r"run-[0-9a-f]{16}", manifest["run_id"])
    assert (manifest["model"], manifest["version"], manifest["plan_sha256"], manifest["key_id"]) == \
        ("delay", 1, plan.lineage["plan_sha256"], plan.key_id)
    assert (manifest["rows_in"], manifest["rows_scored"], manifest["rows_rejected"]) == \
        (rows, rows - rejected, rejected)
    assert [i["rows"] for i in manifest["inputs"]] == [rows * 2 // 3, rows - rows * 2 // 3]
    on_disk = sorted(p.relative_to(run).as_posix() for p in run.glob("*/**/*.parquet"))
    assert on_disk == sorted(f["path"] for f in manifest["files"])
    for entry in manifest["files"]:
        data = (run / entry["path"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["bytes"])
        assert pl.read_parquet(run / entry["path"]).height == entry["rows"]
        assert re.fullmatch(r"(predictions|rejects)/model=delay/day=\d{4}-\d{2}-\d{2}/part-\d{5}\.parquet",
                            entry["path"])
    read = spark.read.parquet(str(run / "predictions"))  # partitions as the lake export's: model, day
    assert {r["model"] for r in read.select("model").distinct().collect()} == {"delay"}
    assert read.count() == manifest["rows_scored"]
    assert json.loads((run / "manifest.json").read_text()) == manifest


def test_the_imported_run_holds_the_same_scores_as_the_local_batch(ran: dict[str, Any], cli: Callable[..., Any],
                                                                   tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(ran["home"], home)
    done = cli("log", "import", ran["run"], "--json", "--home", home)
    assert done.code == 0, done.err
    assert json.loads(done.out)["imported"] == ran["manifest"]["rows_scored"]
    pairs = query(home, "SELECT c.score, b.score, c.flags = b.flags, c.route FROM prediction_log c "
                        "JOIN prediction_log b USING (row_index) WHERE c.request_id = ? AND b.request_id = ?",
                  [ran["manifest"]["run_id"], ran["batch_id"]])
    assert len(pairs) == ran["manifest"]["rows_scored"]
    assert all(ours == theirs and same and route == "batch" for ours, theirs, same, route in pairs)


def test_docs_quote_the_recipe_as_it_is() -> None:
    docs = (ROOT / "docs" / "scaling.md").read_text()
    quoted = docs.split("<!-- recipe: appliance/plans/spark_recipe.py -->\n```python\n", 1)[1].split("```", 1)[0]
    assert quoted == (ROOT / "appliance" / "plans" / "spark_recipe.py").read_text()


def test_a_tampered_package_and_a_used_run_directory_are_refused_before_any_task(ran: dict[str, Any], spark: Any,
                                                                                tmp_path: Path) -> None:
    import shutil

    from appliance.errors import OutputRefused, PlanRefused
    from appliance.plans.spark_recipe import score_on_spark

    package = tmp_path / "plan"
    shutil.copytree(ran["package"], package)
    contract = (package / "contract.json").read_bytes().replace(b'"reject"', b'"flag"')  # loosen the policy
    (package / "contract.json").write_bytes(contract)
    with pytest.raises(PlanRefused, match="'contract.json' does not match its signed sha256"):
        score_on_spark(spark, str(package), trusted_key=ran["key"], inputs=[str(ran["whole"])],
                       run_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with pytest.raises(OutputRefused, match="is not empty; a run writes into a new or empty directory"):
        score_on_spark(spark, str(ran["package"]), trusted_key=ran["key"], inputs=[str(ran["whole"])],
                       run_dir=str(used))
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]
