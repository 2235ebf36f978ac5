"""The fleet view of docs/scaling.md: every query of its set, run as written in DuckDB and in Spark SQL (local
mode) over a lake two boxes exported into with `vigil export`, gives the numbers of the rows each box holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.cli.main import main
from support import VIGIL

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 8, 0, 0)
TABLES = ("prediction_log", "drift_results", "deployments")
# (model, version, route, rows, latency of row i) per box; every latency a multiple of 0.25 (exact sums)
TRAFFIC = {
    "edge-a": [("delay", 1, "champion", 40, lambda i: 1.0 + (i % 4) * 0.5),
               ("delay", 2, "canary", 10, lambda i: 3.0 + (i % 2) * 0.25),
               ("delay", 2, "shadow", 8, lambda i: 50.0)],
    "edge-b": [("delay", 2, "champion", 30, lambda i: 2.0 + (i % 3) * 0.25),
               ("fraud", 1, "champion", 20, lambda i: 0.5 * (i + 1))],
}
# (run id, model, version, feature, psi, verdict) per box; run 2 is edge-a's latest for delay
DRIFT = {
    "edge-a": [(1, "delay", 1, "distance", 0.30, "critical"), (1, "delay", 1, "temp", 0.05, "ok"),
               (2, "delay", 1, "distance", 0.12, "warning"), (2, "delay", 1, "temp", 0.02, "ok"),
               (2, "delay", 1, "carrier", 0.15, "warning")],
    "edge-b": [(1, "delay", 2, "distance", 0.04, "ok"), (1, "fraud", 1, "amount", 0.40, "critical")],
}
# (minutes after T0, model, alias, from, to, actor) per box
MOVES = {
    "edge-a": [(0, "delay", "champion", None, 1, "ann"), (90, "delay", "canary", None, 2, "ann")],
    "edge-b": [(5, "delay", "champion", None, 1, "bob"), (60, "delay", "champion", 1, 2, "cy"),
               (70, "fraud", "champion", None, 1, "bob")],
}


def _fill(store_path: Path, box: str) -> None:
    from appliance.store.connection import Store

    with Store.open(store_path) as store:
        for model, version, route, rows, latency in TRAFFIC[box]:
            for i in range(rows):
                store.execute("INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, "
                              "api, prediction, score, latency_ms, flags) VALUES (?, 0, ?, ?, ?, ?, 'native', 1, 0.5, "
                              "?, [])", [f"{route}-{model}-{i}", T0 + timedelta(seconds=i), model, version, route,
                                         latency(i)])
        for run, model, version, feature, psi, verdict in DRIFT[box]:
            at = T0 + timedelta(hours=run)
            store.execute("INSERT INTO drift_results VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 'psi', ?, ?)",
                          [run, model, version, at - timedelta(hours=1), at, feature, psi, verdict])
            store.execute("INSERT INTO drift_results VALUES (?, ?, ?, ?, ?, ?, 'origin', 'JFK', 'psi', 9.0, 'critical')",
                          [run, model, version, at - timedelta(hours=1), at, feature])  # a segment: not counted
        for minutes, model, alias, before, after, actor in MOVES[box]:
            store.execute("INSERT INTO deployments (model_name, alias, from_version, to_version, actor, changed_at, "
                          "reason) VALUES (?, ?, ?, ?, ?, ?, 'release')",
                          [model, alias, before, after, actor, T0 + timedelta(minutes=minutes)])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet-view")
    for box in TRAFFIC:
        home = root / box
        assert main(["init", "--home", str(home)]) == 0
        _fill(home / "vigil.duckdb", box)
        done = subprocess.run([str(VIGIL), "export", str(root / "lake"), "--box", box, "--home", str(home)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    return root / "lake"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("vigil-fleet-view")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "512m")
               .config("spark.sql.shuffle.partitions", "1").config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _queries() -> dict[str, str]:
    docs = (ROOT / "docs" / "scaling.md").read_text()
    found = dict(re.findall(r"```sql\n-- fleet: (\w+)\n(.*?)```", docs, flags=re.S))
    assert sorted(found) == ["champions", "drift", "latency", "releases", "versions_served"]
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, float):
        return round(value, 9)
    return value


def _duckdb(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    connection = duckdb.connect()
    for table in TABLES:
        connection.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', "
                           "hive_partitioning = true)")
    return [tuple(_plain(v) for v in row) for row in connection.execute(sql).fetchall()]


def _spark(spark: Any, lake: Path, sql: str) -> list[tuple[Any, ...]]:
    for table in TABLES:
        spark.read.parquet(f"file://{lake}/{table}").createOrReplaceTempView(table)
    return [tuple(_plain(v) for v in row) for row in spark.sql(sql).collect()]


def _expected_versions() -> list[tuple[Any, ...]]:
    rows = []
    for box, traffic in TRAFFIC.items():
        for model, version, route, count, _ in traffic:
            rows.append((box, model, version, route, count, T0, T0 + timedelta(seconds=count - 1)))
    return sorted(rows)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    at = share * (len(ordered) - 1)
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _expected_latency() -> list[tuple[Any, ...]]:
    rows = []
    for box, traffic in TRAFFIC.items():
        for model in sorted({t[0] for t in traffic}):
            values = [latency(i) for m, _, route, count, latency in traffic if m == model and route != "shadow"
                      for i in range(count)]
            rows.append((box, model, len(values), round(sum(values) / len(values), 9),
                         round(_percentile(values, 0.5), 9), round(_percentile(values, 0.99), 9), max(values)))
    return rows


EXPECTED = {
    "versions_served": _expected_versions(),
    "latency": _expected_latency(),
    "drift": [("edge-a", "delay", 1, T0 + timedelta(hours=2), 0.15, 2),
              ("edge-b", "delay", 2, T0 + timedelta(hours=1), 0.04, 0),
              ("edge-b", "fraud", 1, T0 + timedelta(hours=1), 0.40, 1)],
    "releases": [(T0, "edge-a", "delay", "champion", None, 1, "ann", "release"),
                 (T0 + timedelta(minutes=5), "edge-b", "delay", "champion", None, 1, "bob", "release"),
                 (T0 + timedelta(minutes=60), "edge-b", "delay", "champion", 1, 2, "cy", "release"),
                 (T0 + timedelta(minutes=70), "edge-b", "fraud", "champion", None, 1, "bob", "release"),
                 (T0 + timedelta(minutes=90), "edge-a", "delay", "canary", None, 2, "ann", "release")],
    "champions": [("edge-a", "delay", 1, T0, "ann"), ("edge-b", "delay", 2, T0 + timedelta(minutes=60), "cy"),
                  ("edge-b", "fraud", 1, T0 + timedelta(minutes=70), "bob")],
}


def test_the_expected_numbers_are_the_ones_written() -> None:
    assert EXPECTED["latency"][0] == ("edge-a", "delay", 50, 2.025, 2.0, 3.25, 3.25)  # champion and canary, no shadow
    assert EXPECTED["latency"][1][:3] == ("edge-b", "delay", 30) and EXPECTED["latency"][2][-1] == 10.0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fleet_query_gives_the_same_numbers_in_duckdb_and_spark(lake: Path, spark: Any, name: str) -> None:
    sql = _queries()[name]
    assert _duckdb(lake, sql) == EXPECTED[name]
    assert _spark(spark, lake, sql) == EXPECTED[name]
