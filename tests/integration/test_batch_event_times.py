"""`vigil score` with event times: each row's event time logged from a column, in every form a file may
hold it; a value that is no time refuses its row with the reason; the configured column is the default."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import polars as pl

from tests.support import query


def test_event_times_of_a_batch_are_logged_per_row(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                   write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    rows = pl.read_parquet(flights_small).head(4)
    rows.with_columns(pl.Series("at", ["2016-03-01T12:00:00+02:00", "soon", None, None])).write_parquet(
        tmp_path / "text.parquet")
    result = cli("score", "delay", "--input", tmp_path / "text.parquet", "--output", tmp_path / "a.parquet",
                 "--event-time-column", "at", "--home", home, "--json")
    made = json.loads(result.out)
    assert (made["scored"], made["rejected"], made["event_time_column"]) == (3, 1, "at")
    rejects = pl.read_parquet(made["rejects"])
    assert rejects["input_row"].to_list() == [1] and rejects["reasons"][0][0].startswith("at: not an event time")
    logged = query(home, "SELECT row_index, event_time FROM prediction_log WHERE request_id = ? ORDER BY 1",
                   [made["batch_id"]])
    assert logged == [(0, datetime(2016, 3, 1, 10, 0)), (2, None), (3, None)]
    assert "_event_time" not in pl.read_parquet(tmp_path / "a.parquet").columns

    # labels attach to the answered rows after a refused one; the refused row has no answer to label
    pl.DataFrame({"request_id": [made["batch_id"]] * 2, "row_index": [3, 1], "label": [True, False]}).write_parquet(
        tmp_path / "labels.parquet")
    loaded = json.loads(cli("labels", "load", tmp_path / "labels.parquet", "--home", home, "--json").out)
    assert loaded["counts"].get("recorded") == 1 and loaded["counts"].get("unknown_row") == 1
    assert query(home, "SELECT row_index FROM feedback WHERE request_id = ?", [made["batch_id"]]) == [(3,)]

    # a year-month as an integer, from the model's configured column, in a .pq file
    (home / "vigil.toml").write_text('[serving]\nevent_time_column = "ym"\n')
    rows.with_columns(pl.Series("ym", [201512, 201601, 201601, None])).write_parquet(tmp_path / "months.pq")
    made = json.loads(cli("score", "delay", "--input", tmp_path / "months.pq", "--output", tmp_path / "b.parquet",
                          "--home", home, "--json").out)
    assert (made["scored"], made["event_time_column"]) == (4, "ym")
    logged = query(home, "SELECT event_time FROM prediction_log WHERE request_id = ? ORDER BY row_index",
                   [made["batch_id"]])
    assert [r[0] for r in logged] == [datetime(2015, 12, 1), datetime(2016, 1, 1), datetime(2016, 1, 1), None]


def test_a_missing_event_time_column_stops_the_batch(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                     write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    pl.read_parquet(flights_small).head(3).write_parquet(tmp_path / "in.parquet")
    done = cli("score", "delay", "--input", tmp_path / "in.parquet", "--output", tmp_path / "o.parquet",
               "--event-time-column", "when", "--home", home)
    assert done.code == 2 and "no column when" in done.err and not (tmp_path / "o.parquet").exists()
    assert query(home, "SELECT count(*) FROM prediction_log") == [(0,)]
