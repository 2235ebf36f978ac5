"""The prediction log's writer on a real store: group commit, typed inputs, tables that gain columns."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import Feature
from appliance.errors import RetryLater
from appliance.core.inputs import Inputs
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.store import migrations
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "vigil.duckdb") as opened:
        migrations.apply(opened)
        pq.ensure_inputs_table(opened, "m", [Feature("a", "numeric"), Feature("c", "categorical")])
        yield opened


def _record(request_id: str, frame: pl.DataFrame) -> LogRecord:
    n = frame.height
    features = [Feature(name, "categorical" if name == "c" else "numeric") for name in frame.columns]
    return LogRecord(request_id, "m", 1, "champion", "native", np.ones(n), np.full(n, 0.7), 1.5, [[] for _ in range(n)],
                     Inputs.from_polars(frame, features))


def test_concurrent_requests_share_commits_and_each_row_is_logged_once(store: Store) -> None:
    log = PredictionLog(store.cursor())
    records = [_record(f"r{i}", pl.DataFrame({"a": [float(i), 2.0], "c": ["x", None]})) for i in range(40)]

    def submit(record: LogRecord) -> None:
        log.submit(record)
        log.wait(record)

    threads = [threading.Thread(target=submit, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    assert store.execute("SELECT count(*), count(DISTINCT request_id) FROM prediction_log") == [(80, 40)]
    assert store.execute("SELECT a, c FROM prediction_inputs__m WHERE request_id = 'r7' ORDER BY row_index") == [
        (7.0, "x"), (2.0, None)]
    assert 1 <= log.commits <= 40


def test_a_table_that_gains_a_column_keeps_logging(store: Store) -> None:
    log = PredictionLog(store.cursor())
    first = _record("before", pl.DataFrame({"a": [1.0], "c": ["x"]}))
    log.submit(first)
    log.wait(first)
    pq.ensure_inputs_table(store.cursor(), "m", [Feature("a", "numeric"), Feature("c", "categorical"),
                                                 Feature("b", "numeric")])
    for name, frame in (("wider", pl.DataFrame({"a": [2.0], "c": ["y"], "b": [5.0]})),
                        ("narrow", pl.DataFrame({"a": [3.0], "c": ["z"]}))):
        record = _record(name, frame)
        log.submit(record)
        log.wait(record)
    log.close()
    assert store.execute("SELECT request_id, a, b FROM prediction_inputs__m ORDER BY a") == [
        ("before", 1.0, None), ("wider", 2.0, 5.0), ("narrow", 3.0, None)]


def test_a_full_queue_refuses_at_once(store: Store) -> None:
    log = PredictionLog(store.cursor(), max_pending_rows=100)
    big = _record("big", pl.DataFrame({"a": [1.0] * 150, "c": ["x"] * 150}))
    with pytest.raises(RetryLater) as refused:
        log.submit(big)
    assert refused.value.status == 503
    log.close()
