"""SQL of ground-truth labels: where a batch of labels attaches, set-wise writes, a model's classes, the
label feed's figures.

A batch of labels is an Arrow table registered on the store handle (`Store.registered`), so finding the
answered rows and writing the labels are one statement each, however many labels there are.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from appliance.store import prediction_queries as pq
from appliance.store.connection import Store

WRITTEN = ("request_id", "row_index", "model_name", "label", "label_value", "received_at", "event_time")


def locate(store: Store, view: str, model_name: str) -> pl.DataFrame:
    """Per label of `view` (columns `index`, `request_id`, `row_index`), in `index` order: the model that
    answered its request (`answered_by`: `model_name` when it answered it, else another model that did;
    NULL: no such request), the model's answers of the request (`rows`), whether the label's own row was
    answered by the model (`row_answered`: a batch's refused rows were not), the answering version
    (`version`) and when (`logged_at`), and the label stored for the row (`stored_label`,
    `stored_event_time`, `stored_model`).

    A request id is the client's: it may have been answered more than once (a retry with the same id) or
    by several models, so only the model's own rows are joined, and a label whose row was answered twice
    comes out once per answer (`labels._located` keeps the latest). Counting distinct rows or sorting by
    answer time here cost 0.3–0.5 s per million labels, so neither is done in SQL.
    The label's row index is compared as the tables' INTEGER (TRY_CAST: one beyond INTEGER names no row):
    comparing the tables' column widened to BIGINT instead made this statement about 2.5 times as slow."""
    table = store.arrow(
        f"WITH asked AS (SELECT DISTINCT request_id FROM {view}), "
        "answered AS (SELECT p.request_id, CASE WHEN bool_or(p.model_name = $model) THEN $model "
        "ELSE min(p.model_name) END AS answered_by, "
        "count(*) FILTER (WHERE p.model_name = $model) AS rows "
        "FROM prediction_log p SEMI JOIN asked USING (request_id) WHERE p.route <> 'shadow' GROUP BY p.request_id) "
        f"SELECT l.index, a.answered_by, a.rows, r.version, r.row_index IS NOT NULL AS row_answered, r.logged_at, "
        f"f.label AS stored_label, f.event_time AS stored_event_time, f.model_name AS stored_model FROM {view} l "
        "LEFT JOIN answered a USING (request_id) "
        "LEFT JOIN prediction_log r ON r.request_id = l.request_id AND r.row_index = TRY_CAST(l.row_index AS INTEGER) "
        "AND r.route <> 'shadow' AND r.model_name = $model "
        "LEFT JOIN feedback f ON f.request_id = l.request_id AND f.row_index = TRY_CAST(l.row_index AS INTEGER) "
        "ORDER BY l.index", {"model": model_name})
    return pl.from_arrow(table)  # type: ignore[return-value]


def answering_models(store: Store, view: str) -> list[str]:
    """The models that answered the requests named in `view` (column `request_id`), by name."""
    return [str(r[0]) for r in store.execute(
        f"SELECT DISTINCT p.model_name FROM prediction_log p SEMI JOIN {view} l USING (request_id) "
        "WHERE p.route <> 'shadow' ORDER BY 1")]


def insert(store: Store, view: str, model_name: str, received_at: datetime) -> None:
    """Insert the labels of `view` (columns `status`, `request_id`, `row_index`, `label`, `label_value`,
    `event_time`) whose status is `recorded`: rows that have no label yet, so a plain insert (the cheapest
    way into a table with a primary key; a conflict here is a bug and fails the transaction)."""
    store.execute(f"INSERT INTO feedback ({', '.join(WRITTEN)}) SELECT request_id, row_index, ?, label, label_value, "
                  f"?, event_time FROM {view} WHERE status = 'recorded'", [model_name, received_at])


def replace(store: Store, view: str, model_name: str, received_at: datetime) -> None:
    """Replace the labels of rows that have one by those of `view` whose status is `updated`; a label
    without an event time keeps the event time the row had."""
    store.execute(
        f"INSERT INTO feedback ({', '.join(WRITTEN)}) SELECT request_id, row_index, ?, label, label_value, ?, "
        f"event_time FROM {view} WHERE status = 'updated' "
        "ON CONFLICT (request_id, row_index) DO UPDATE SET label = excluded.label, "
        "label_value = excluded.label_value, received_at = excluded.received_at, "
        "event_time = coalesce(excluded.event_time, feedback.event_time)", [model_name, received_at])


def stored_count(store: Store, model_name: str) -> int:
    return int(store.scalar("SELECT count(*) FROM feedback WHERE model_name = ?", [model_name]))


def version_facts(store: Store, model_name: str) -> list[dict[str, Any]]:
    """Each version's label facts: its task, positive class, classes (multiclass), and where its training
    snapshot is (path relative to the home) with its label column."""
    return store.rows(
        "SELECT v.version, m.task, v.positive_class, v.classes, v.target, s.path AS snapshot_path, v.snapshot_id "
        "FROM model_versions v JOIN models m ON m.name = v.model_name "
        "JOIN dataset_snapshots s ON s.snapshot_id = v.snapshot_id WHERE v.model_name = ? ORDER BY v.version",
        [model_name])


def snapshot_classes(store: Store, path: Path, column: str) -> list[str]:
    """The distinct labels of a training snapshot's label column, as category text (booleans as
    true/false, integers as digits), sorted."""
    quoted_path = str(path).replace("'", "''")
    rows = store.execute(f"SELECT DISTINCT CAST({pq.column_name(column)} AS VARCHAR) FROM "
                         f"read_parquet('{quoted_path}') WHERE {pq.column_name(column)} IS NOT NULL ORDER BY 1")
    return [str(r[0]) for r in rows]


def datasheet_classes(store: Store, snapshot_id: str, column: str) -> list[str]:
    """The label column's values as the snapshot's datasheet measured them (its categories, else its
    smallest and largest value): the fallback when the snapshot file is gone."""
    row = store.row("SELECT min_value, max_value, categories FROM datasheet_columns WHERE snapshot_id = ? "
                    "AND column_name = ?", [snapshot_id, column])
    if row is None:
        return []
    if row["categories"]:
        import json

        return sorted(json.loads(row["categories"]))
    return sorted({str(v) for v in (row["min_value"], row["max_value"]) if v is not None})


def key_column_type(store: Store, model_name: str, column: str) -> str | None:
    """The SQL type of a column of the model's logged inputs, or None when it has no such column."""
    return store.scalar("SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                        [pq.inputs_table(model_name), column])


def rows_by_key(store: Store, model_name: str, view: str, column: str, sql_type: str) -> pl.DataFrame:
    """(`index`, `request_id`, `row_index`) of every answered row of the model whose logged input `column`
    equals a label's `key` in `view`, each once however often it was answered (a request id reused); a key no
    answered row holds is absent."""
    if sql_type not in ("DOUBLE", "VARCHAR"):
        raise ValueError(f"unexpected input column type {sql_type!r}")
    table = store.arrow(
        f"SELECT DISTINCT l.index, i.request_id, i.row_index FROM {view} l JOIN {pq.inputs_table(model_name)} i "
        f"ON i.{pq.column_name(column)} = TRY_CAST(l.key AS {sql_type}) "
        "SEMI JOIN prediction_log p ON p.request_id = i.request_id AND p.row_index = i.row_index "
        "AND p.model_name = ? AND p.route <> 'shadow' ORDER BY l.index, i.request_id, i.row_index", [model_name])
    return pl.from_arrow(table)  # type: ignore[return-value]


def feed_figures(store: Store, model_name: str, due_start: datetime, due_end: datetime,
                 delay_since: datetime, now: datetime) -> dict[str, Any]:
    """The label feed of a model at `now`: rows answered in [due_start, due_end) and how many of them have a
    label; the newest label's arrival; the median delay (arrival − answer) of labels received since
    `delay_since`; and the rows answered since the newest label arrived, up to `due_end`."""
    row = store.row(
        "WITH labels AS (SELECT f.received_at, p.logged_at FROM feedback f JOIN prediction_log p "
        "USING (request_id, row_index, model_name) WHERE f.model_name = ? AND p.route <> 'shadow') "
        "SELECT (SELECT count(*) FROM prediction_log p WHERE p.model_name = ? AND p.route <> 'shadow' "
        "        AND p.logged_at >= ? AND p.logged_at < ?) AS due, "
        "(SELECT count(*) FROM prediction_log p JOIN feedback f USING (request_id, row_index, model_name) "
        "        WHERE p.model_name = ? AND p.route <> 'shadow' AND p.logged_at >= ? AND p.logged_at < ?) AS labelled, "
        "(SELECT max(received_at) FROM feedback WHERE model_name = ?) AS newest, "
        "(SELECT median(epoch(received_at) - epoch(logged_at)) FROM labels WHERE received_at >= ? "
        "        AND received_at <= ?) AS median_delay_s",
        [model_name, model_name, due_start, due_end, model_name, due_start, due_end, model_name, delay_since, now])
    assert row is not None
    return row


def answered_between(store: Store, model_name: str, start: datetime, end: datetime) -> int:
    """Rows the model answered (not as shadow) in [start, end)."""
    return int(store.scalar("SELECT count(*) FROM prediction_log WHERE model_name = ? AND route <> 'shadow' "
                            "AND logged_at >= ? AND logged_at < ?", [model_name, start, end]))
