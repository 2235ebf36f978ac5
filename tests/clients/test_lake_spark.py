"""PySpark (local mode) reads a two-box lake export made into one shared directory, where one box's export
was killed with SIGKILL in the middle of a table and run again: Spark's counts per table and box equal
each store's, no row is there twice, and hostile model names come back as they were."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.cli.main import main
from lake_support import HOSTILE, KEYS, START, TABLES, add_rows, store_counts, store_names
from support import VIGIL

BOXES = ("edge-a", "edge-b")


def _export(lake: Path, home: Path, box: str, failpoint: str | None = None) -> int:
    env = {**os.environ, **({"VIGIL_EXPORT_FAILPOINT": failpoint} if failpoint else {})}
    done = subprocess.run([str(VIGIL), "export", str(lake), "--box", box, "--home", str(home)], capture_output=True,
                          text=True, timeout=120, env=env)
    return done.returncode


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two boxes exporting into one lake: edge-a twice, with new rows between; edge-b killed (kill -9) while
    publishing its prediction log, then again after committing its feedback, then run to the end."""
    root = tmp_path_factory.mktemp("fleet")
    lake, homes = root / "lake", {box: root / box for box in BOXES}
    for box, home in homes.items():
        assert main(["init", "--home", str(home)]) == 0
    add_rows(homes["edge-a"] / "vigil.duckdb", "a", 300)
    add_rows(homes["edge-b"] / "vigil.duckdb", "b", 500)
    assert _export(lake, homes["edge-a"], "edge-a") == 0
    assert _export(lake, homes["edge-b"], "edge-b", "prediction_log:published-one") == -9
    later = START + timedelta(minutes=10)
    add_rows(homes["edge-a"] / "vigil.duckdb", "a2", 80, start=later)
    add_rows(homes["edge-b"] / "vigil.duckdb", "b2", 80, start=later)
    assert _export(lake, homes["edge-b"], "edge-b", "feedback:committed") == -9
    assert _export(lake, homes["edge-a"], "edge-a") == 0
    assert _export(lake, homes["edge-b"], "edge-b") == 0
    return {"lake": lake, "homes": homes}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("vigil-lake")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "512m")
               .config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_counts_per_table_and_box_equal_each_store_with_no_row_twice(fleet: dict[str, Any],
                                                                           spark: Any) -> None:
    from pyspark.sql import functions as F

    lake = fleet["lake"]
    for table in TABLES:
        frame = spark.read.parquet(str(lake / table))
        counted = {row["box"]: (row["rows"], row["distinct"]) for row in frame.groupBy("box").agg(
            F.count("*").alias("rows"),
            F.countDistinct(*[c.strip() for c in KEYS[table].split(",")]).alias("distinct")).collect()}
        for box, home in fleet["homes"].items():
            expected = store_counts(home / "vigil.duckdb")[table]
            assert counted.get(box, (0, 0)) == (expected, expected), (table, box)


def test_spark_reads_hostile_model_names_back_as_they_were(fleet: dict[str, Any], spark: Any) -> None:
    from appliance.maintenance.lake.partitions import partition_value

    frame = spark.read.parquet(str(fleet["lake"] / "prediction_log"))
    for box, home in fleet["homes"].items():
        rows = frame.where(frame.box == box).select("model", "model_name").distinct().collect()
        assert {r["model_name"] for r in rows} == store_names(home / "vigil.duckdb")
        assert all(str(r["model"]) == partition_value(r["model_name"]) for r in rows)
    longest = frame.where(frame.model_name == "m" * 381).count()
    assert longest == sum(len(range(0, added, len(HOSTILE))) for added in (300, 80, 500, 80))  # every 9th row
