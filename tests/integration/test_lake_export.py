"""`vigil export`: each table's files and watermark commit together, so an export stopped at any step
(an exception, or SIGKILL as a power cut would) and run again leaves every row in the lake exactly
once; partition values stay safe for any model name. The lake is read back with DuckDB."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from lake_support import HOSTILE, START, add_rows, lake_counts, lake_rows, store_counts, store_names
from support import VIGIL

STEPS = ["staged", "committed", "published-one", "published", "watermark"]


@pytest.fixture
def store_home(home: Path) -> Path:
    add_rows(home / "vigil.duckdb", "a", 400)
    return home


def _export(cli: Callable[..., Any], lake: Path, home: Path, *more: str) -> dict[str, Any]:
    done = cli("export", lake, "--box", "edge-1", "--home", home, "--json", *more)
    assert done.code == 0, done.err
    return dict(json.loads(done.out))


def _killed_export(lake: Path, home: Path, failpoint: str) -> None:
    """`vigil export` in a child process that SIGKILLs itself at `failpoint` (appliance/maintenance/lake/files.py)."""
    done = subprocess.run([str(VIGIL), "export", str(lake), "--box", "edge-1", "--home", str(home)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "VIGIL_EXPORT_FAILPOINT": failpoint})
    assert done.returncode == -9, done.stderr


@pytest.mark.parametrize("step", STEPS)
def test_an_export_failing_at_any_step_then_retried_holds_every_row_once(
        step: str, store_home: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    lake = tmp_path / "lake"
    monkeypatch.setenv("VIGIL_EXPORT_FAILPOINT", f"prediction_log:{step}:raise")
    failed = cli("export", lake, "--box", "edge-1", "--home", store_home)
    assert failed.code == 2 and f"failure point prediction_log:{step}" in failed.err and "run it again" in failed.err
    seen = lake_counts(lake, "edge-1")["prediction_log"]  # what a reader sees meanwhile: nothing twice
    if step == "published-one":  # a decided commit, partly in place
        assert 0 < seen < 400
    else:
        assert seen == (400 if step in ("published", "watermark") else 0)
    monkeypatch.delenv("VIGIL_EXPORT_FAILPOINT")
    again = _export(cli, lake, store_home)
    assert again["resumed"] == ({"prediction_log": 400} if step in ("committed", "published-one", "published")
                                else {})
    assert lake_counts(lake, "edge-1") == store_counts(store_home / "vigil.duckdb")
    assert not list((lake / "_vigil_export" / "edge-1" / "staging").rglob("*.parquet"))


@pytest.mark.parametrize("failpoint", ["prediction_log:published-one", "feedback:watermark", "audit_log:staged",
                                       "incidents:state"])
def test_an_export_killed_then_retried_with_new_rows_holds_every_row_once(
        failpoint: str, store_home: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    lake = tmp_path / "lake"
    _killed_export(lake, store_home, failpoint)
    add_rows(store_home / "vigil.duckdb", "b", 120, start=START + timedelta(minutes=10))  # new rows meanwhile
    _export(cli, lake, store_home)
    assert lake_counts(lake, "edge-1") == store_counts(store_home / "vigil.duckdb")
    assert _export(cli, lake, store_home)["rows"]["prediction_log"] == 0


def test_rows_at_the_watermark_instant_are_split_by_the_total_order(store_home: Path, tmp_path: Path,
                                                                      cli: Callable[..., Any]) -> None:
    """The watermark is the last row's (time, request_id, row_index, route, version), not its time: a row at
    the same instant that sorts after it is exported next time, once; the rows before it are not again."""
    lake = tmp_path / "lake"
    first = _export(cli, lake, store_home)
    last_second = first["watermarks"]["prediction_log"]
    from appliance.store.connection import Store

    with Store.open(store_home / "vigil.duckdb") as store:
        tied = store.scalar("SELECT count(*) FROM prediction_log WHERE logged_at = ?", [last_second])
        store.execute("INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, "
                      "api, latency_ms, flags) VALUES ('zz-late', 0, ?, 'delay', 1, 'champion', 'native', 1, [])",
                      [last_second])
    assert tied == 4  # four rows share the watermark's instant
    assert _export(cli, lake, store_home)["rows"]["prediction_log"] == 1
    assert lake_counts(lake, "edge-1") == store_counts(store_home / "vigil.duckdb")


def test_hostile_model_names_are_safe_partitions_and_read_back(store_home: Path, tmp_path: Path,
                                                                cli: Callable[..., Any]) -> None:
    from appliance.maintenance.lake.partitions import partition_value
    from appliance.store import lake_queries as lq
    from appliance.store.connection import Store

    lake = tmp_path / "lake"
    _export(cli, lake, store_home)
    pairs = set(tuple(r[1:]) for r in _rows(lake, "prediction_log", "model, model_name"))
    assert {name for _, name in pairs} == store_names(store_home / "vigil.duckdb")
    assert all(model == partition_value(name) for model, name in pairs)
    folders = {p.name for p in (lake / "prediction_log" / "box=edge-1").iterdir()}
    assert all(len(f.encode()) <= 5 + 64 and "/" not in f and "\n" not in f for f in folders)
    assert "model=.." in folders and "model=a_b~c14cddc033f64b9d" in folders
    with Store.open(store_home / "vigil.duckdb", read_only=True) as store:  # SQL and Python agree
        assert lq.partition_values(store, [*HOSTILE, None, ""]) == [partition_value(n) for n in [*HOSTILE, None, ""]]
    nulls = _rows(lake, "rejected_requests", "model, model_name")
    assert ("edge-1", "~none", None) in nulls


def _rows(lake: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    import duckdb

    return duckdb.sql(f"SELECT DISTINCT box, {columns} FROM read_parquet('{lake}/{table}/**/*.parquet', "
                      "hive_partitioning = true)").fetchall()


def test_full_replaces_the_boxs_files_and_days_are_partitions(store_home: Path, tmp_path: Path,
                                                             cli: Callable[..., Any]) -> None:
    lake = tmp_path / "lake"
    _export(cli, lake, store_home)
    _export(cli, lake, store_home, "--full")
    assert lake_counts(lake, "edge-1") == store_counts(store_home / "vigil.duckdb")
    days = lake_rows(lake, "prediction_log", "min(day), max(day)")
    assert days == [("edge-1", START.date(), START.date().replace(day=2))]


def test_a_second_export_of_the_same_box_at_once_is_refused(store_home: Path, tmp_path: Path,
                                                             cli: Callable[..., Any]) -> None:
    lake = tmp_path / "lake"
    _export(cli, lake, store_home)
    with open(lake / "_vigil_export" / "edge-1" / "lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = cli("export", lake, "--box", "edge-1", "--home", store_home)
    assert busy.code == 2 and "is running already" in busy.err and len(busy.err.strip().splitlines()) == 1


def test_a_lake_of_the_earlier_layout_and_a_hidden_box_name_are_refused(store_home: Path, tmp_path: Path,
                                                                        cli: Callable[..., Any]) -> None:
    lake = tmp_path / "lake"
    (lake / "_vigil_export").mkdir(parents=True)
    (lake / "_vigil_export" / "edge-1.json").write_text('{"until": "2024-01-01T00:00:00"}')
    old = cli("export", lake, "--box", "edge-1", "--home", store_home)
    assert old.code == 2 and "earlier layout" in old.err
    hidden = cli("export", lake, "--box", "..", "--home", store_home)
    assert hidden.code == 2 and "starting with a letter or digit" in hidden.err
