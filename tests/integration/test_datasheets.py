"""Every snapshot gets a datasheet: measured columns, label balance, the versions trained on it, and notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import polars as pl

from tests.support import query


def test_datasheet_is_measured_edited_and_regenerated(home: Path, cli: Callable[..., Any],
                                                      write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    [(sid, path)] = query(home, "SELECT snapshot_id, path FROM dataset_snapshots")
    frame = pl.read_parquet(home / path)
    profiled = query(home, "SELECT column_name, missing_share, categories FROM datasheet_columns ORDER BY 1")
    assert [c for c, *_ in profiled] == sorted(frame.columns)
    missing = {c: m for c, m, _ in profiled}
    for column in ("temp", "visib", "carrier"):
        assert abs(missing[column] - frame[column].null_count() / frame.height) < 1e-4
    carriers = json.loads(dict((c, k) for c, _, k in profiled)["carrier"])
    expected = dict(frame["carrier"].drop_nulls().value_counts().iter_rows())
    assert carriers == expected and list(carriers.values()) == sorted(carriers.values(), reverse=True)

    shown = cli("datasheet", "show", "delay", "1", "--home", home)
    assert shown.code == 0 and f"# Datasheet: snapshot {sid[:16]}" in shown.out
    assert "**Trained on it:** delay v1" in shown.out and "## Label balance (`delayed`)" in shown.out
    assert "| carrier | VARCHAR |" in shown.out and "_Not described yet" in shown.out
    by_id = cli("datasheet", "show", sid[:12], "--home", home, "--json")
    assert json.loads(by_id.out)["markdown"].rstrip() == shown.out.rstrip()

    edited = cli("datasheet", "edit", sid[:12], "--collection", "BTS on-time data joined with NOAA weather",
                 "--limitations", "New York airports only; 2013", "--home", home)
    assert edited.code == 0
    again = cli("datasheet", "show", "delay", "1", "--home", home).out
    assert "BTS on-time data joined with NOAA weather" in again and "New York airports only; 2013" in again
    [(before, after)] = query(home, "SELECT before, after FROM audit_log WHERE action = 'datasheet.edit'")
    assert before is None and json.loads(after)["known_limitations"] == "New York airports only; 2013"

    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:
        store.execute("DELETE FROM datasheet_columns")
    assert "not profiled yet" in cli("datasheet", "show", "delay", "1", "--home", home).out
    assert cli("datasheet", "regenerate", "--home", home).code == 0
    assert query(home, "SELECT column_name, missing_share, categories FROM datasheet_columns ORDER BY 1") == profiled
    assert cli("datasheet", "show", "delay", "1", "--home", home).out == again

    nothing = cli("datasheet", "edit", "delay", "1", "--home", home)
    assert nothing.code == 2 and "--collection TEXT and/or --limitations TEXT" in nothing.err
    short = cli("datasheet", "show", "abc", "--home", home)
    assert short.code == 2 and "8 or more" in short.err
