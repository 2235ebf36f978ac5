"""Ground-truth labels checked and recorded set-wise, for the feedback API and label files alike.

A batch of labels is a polars frame (`BATCH`). It is located against the prediction log in one
statement, checked against the task and classes of the version that answered each row, and written
in one statement, inside one transaction committed before the caller hears back; so a hundred
thousand labels cost about what one does, and a `kill -9` after the answer loses none of them.

The rules (docs/monitoring.md, "Labels"):

- A label attaches to an answered row: `unknown_request_id`, `wrong_model` (another model answered
  the request) and `unknown_row` (the request had fewer rows) are reported per label, not recorded.
  A request id is the client's own: answered again (a retry), its row takes one label, checked against
  the latest answer; answered by several models, each model's label attaches to the model's own rows,
  and a row labelled for one of them is `wrong_model` for the others (a row holds one label).
- A label the model cannot have refuses the whole batch, naming each bad label: a binary version
  accepts its two classes as its training data wrote them (true/false, 1/0 or the class names), a
  multiclass version its classes, a regression model finite numbers. Nothing is recorded.
- The same row twice in one batch refuses the batch. Against the store, the latest label wins: the
  same label again is `unchanged` (nothing written), a different one `updated` (it replaces the old
  label and its arrival time; no history is kept), a label without an event time keeps the row's.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from appliance.errors import InvalidRequest, LabelError
from appliance.store import label_queries as lq
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store

BATCH: dict[str, pl.DataType] = {"index": pl.Int64(), "request_id": pl.String(), "row_index": pl.Int64(),
                                  "label_text": pl.String(), "label_number": pl.Float64(), "label_shown": pl.String(),
                                  "event_time": pl.Datetime("us")}
NOT_ANSWERED = ("unknown_request_id", "wrong_model", "unknown_row")
WRITE_LOCK = threading.Lock()  # one label write at a time in this process (API calls and file loads)


@dataclass(frozen=True, slots=True)
class BadLabel:
    """One label that refuses its batch: its position, which part is wrong, the kind and the reason."""

    index: int
    part: str
    kind: str
    problem: str


class LabelsRefused(Exception):
    """A batch with bad labels; nothing of it was recorded."""

    def __init__(self, bad: list[BadLabel]) -> None:
        super().__init__(f"{len(bad)} bad label(s)")
        self.bad = bad


@dataclass(frozen=True, slots=True)
class VersionClasses:
    """What a version's labels may be: each accepted label text and the value it is stored as."""

    task: str
    values: dict[str, float]

    @property
    def names(self) -> list[str]:
        return list(self.values)


class ClassBook:
    """Each version's accepted labels, read once (a version never changes): a binary version's two classes
    from its training snapshot's label column, a multiclass version's from its `classes`."""

    def __init__(self, home_root: Path) -> None:
        self._home_root = home_root
        self._known: dict[tuple[str, int], VersionClasses] = {}
        self._lock = threading.Lock()

    def of_model(self, store: Store, model_name: str) -> dict[int, VersionClasses]:
        with self._lock:
            found: dict[int, VersionClasses] = {}
            for facts in lq.version_facts(store, model_name):
                key = (model_name, int(facts["version"]))
                if key not in self._known:
                    self._known[key] = self._read(store, facts)
                found[key[1]] = self._known[key]
            return found

    def _read(self, store: Store, facts: dict[str, Any]) -> VersionClasses:
        task = str(facts["task"])
        if task == "regression":
            return VersionClasses(task, {})
        if task == "multiclass":
            return VersionClasses(task, {name: float(code) for code, name in enumerate(facts["classes"] or [])})
        names = self._binary_classes(store, facts)
        positive = str(facts["positive_class"])
        return VersionClasses(task, {name: 1.0 if name == positive else 0.0 for name in sorted({*names, positive})})

    def _binary_classes(self, store: Store, facts: dict[str, Any]) -> list[str]:
        path = self._home_root / str(facts["snapshot_path"])
        if path.exists():
            return lq.snapshot_classes(store, path, str(facts["target"]))
        found = lq.datasheet_classes(store, str(facts["snapshot_id"]), str(facts["target"]))
        if len(found) != 2:
            raise LabelError(f"version {facts['version']}'s training snapshot is gone and no datasheet names its two "
                             "classes; labels for it cannot be checked")
        return found


def model_task(store: Store, model_name: str) -> str:
    """The model's task; an unknown model is a 404 naming it."""
    row = pq.model_labels(store, model_name)
    if row is None:
        raise InvalidRequest(f"no model named '{model_name}'", [
            {"field": "model", "problem": "unknown model", "kind": "unknown_model"}], status=404)
    return str(row["task"])


def duplicates(batch: pl.DataFrame) -> list[BadLabel]:
    """A label for a row that an earlier label of the same batch already names."""
    hashes = batch.select(pl.struct("request_id", "row_index").hash()).to_series()
    if hashes.n_unique() == batch.height:  # distinct hashes: surely distinct rows (the quick answer)
        return []
    keyed = batch.select("index", "request_id", "row_index").with_columns(
        first=pl.col("index").min().over("request_id", "row_index"))
    repeated = keyed.filter(pl.col("index") != pl.col("first"))
    return [BadLabel(int(i), "request_id", "duplicate_label", "names the same request_id and row_index as an "
                     "earlier label of this call")
            for i in repeated["index"]]


def record(store: Store, book: ClassBook, model_name: str, batch: pl.DataFrame, now: datetime,
           audit: Callable[[pl.DataFrame], None] | None = None) -> pl.DataFrame:
    """Check and record a batch (columns BATCH); per label (`index`, `request_id`, `row_index`, `status`,
    `problem`). LabelsRefused when any label breaks the rules; then nothing is written. `audit`, given the
    statuses, writes the batch's audit row in the same transaction (labels and their audit row commit
    together or not at all)."""
    repeated = duplicates(batch)
    if repeated:
        raise LabelsRefused(repeated)
    task = model_task(store, model_name)
    with WRITE_LOCK, store.transaction():
        statuses = write_checked(store, model_name, task, book.of_model(store, model_name), batch, now)
        if audit is not None:
            audit(statuses)
        return statuses


def write_checked(store: Store, model_name: str, task: str, versions: dict[int, VersionClasses], batch: pl.DataFrame,
                  now: datetime) -> pl.DataFrame:
    """Inside the caller's transaction: locate the batch's rows, check each label against the version that
    answered it, and write the new labels (one plain INSERT) and the changed ones (one INSERT ... ON
    CONFLICT); per label in batch order (`index`, `request_id`, `row_index`, `status`, `problem`)."""
    checked = _checked(_located(store, batch, model_name), model_name, task, versions)
    _write(store, checked, "recorded", model_name, now, lq.insert)
    _write(store, checked, "updated", model_name, now, lq.replace)
    return checked.select("index", "request_id", "row_index", "status", "problem")


def _located(store: Store, batch: pl.DataFrame, model_name: str) -> pl.DataFrame:
    view = f"labels_{uuid.uuid4().hex}"
    with store.registered(view, arrow(batch.select("index", "request_id", "row_index"))):
        found = lq.locate(store, view, model_name)
    if found.height != batch.height:  # a row answered more than once (its request id reused): its latest answer
        found = found.sort("index", "logged_at").unique("index", keep="last", maintain_order=True)
    return batch.hstack(found.drop("index", "logged_at").get_columns())  # in `index` order, 0..n-1 (as_batch)


def _checked(located: pl.DataFrame, model_name: str, task: str, versions: dict[int, VersionClasses]) -> pl.DataFrame:
    """The batch with each label's `status`, `problem` and stored `label_value`; LabelsRefused for bad labels."""
    elsewhere = pl.col("stored_model").is_not_null() & (pl.col("stored_model") != model_name)
    where = (pl.when(pl.col("answered_by").is_null()).then(pl.lit("unknown_request_id"))
             .when(pl.col("answered_by") != model_name).then(pl.lit("wrong_model"))
             .when(~pl.col("row_answered")).then(pl.lit("unknown_row"))
             .when(elsewhere).then(pl.lit("wrong_model")))
    problem = (pl.when(pl.col("answered_by").is_null()).then(pl.lit(None, dtype=pl.String))
               .when(pl.col("answered_by") != model_name)
               .then(pl.format("request was answered by model '{}'", pl.col("answered_by")))
               .when(~pl.col("row_answered"))
               .then(pl.format("row {} of the request was not answered (it has {} answered row(s))",
                               pl.col("row_index"), pl.col("rows")))
               .when(elsewhere)
               .then(pl.format("the row's label belongs to model '{}' (its request id was answered by several "
                               "models)", pl.col("stored_model"))))
    frame = located.with_columns(status=where, problem=problem)
    frame = _with_values(frame, task, versions)
    bad = frame.filter(pl.col("status").is_null() & pl.col("label_value").is_null())
    if bad.height:
        raise LabelsRefused(_bad_labels(bad, task, versions))
    same = (pl.col("stored_label") == pl.col("label")) & (
        pl.col("event_time").is_null() | (pl.col("event_time") == pl.col("stored_event_time")).fill_null(False))
    stored = (pl.when(pl.col("status").is_not_null()).then(pl.col("status"))
              .when(pl.col("stored_label").is_null()).then(pl.lit("recorded"))
              .when(same).then(pl.lit("unchanged")).otherwise(pl.lit("updated")))
    return frame.with_columns(status=stored)


def _with_values(frame: pl.DataFrame, task: str, versions: dict[int, VersionClasses]) -> pl.DataFrame:
    """`label` (the text stored) and `label_value` (1/0, the class's position, or the number); NULL where
    the label is not one the answering version accepts. Each version's classes map the label text
    (`replace_strict`, no join: a version has a handful of classes and a batch a few versions)."""
    if task == "regression":
        finite = pl.col("label_number").is_not_null() & pl.col("label_number").is_finite()
        return frame.with_columns(label=pl.col("label_shown"),
                                  label_value=pl.when(finite).then(pl.col("label_number")))
    value: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for version, classes in sorted(versions.items(), reverse=True):
        mapped = pl.col("label_text").replace_strict(classes.values, default=None, return_dtype=pl.Float64)
        value = pl.when(pl.col("version") == version).then(mapped).otherwise(value)
    return frame.with_columns(label=pl.col("label_text"), label_value=value)


def _bad_labels(bad: pl.DataFrame, task: str, versions: dict[int, VersionClasses]) -> list[BadLabel]:
    found = []
    for index, shown, version in bad.select("index", "label_shown", "version").iter_rows():
        if task == "regression":
            found.append(BadLabel(int(index), "label", "invalid_label", "a regression label must be a finite number"))
            continue
        names = versions[int(version)].names if version is not None and int(version) in versions else []
        found.append(BadLabel(int(index), "label", "unknown_class", f"'{str(shown)[:40]}' is not a class of this model; "
                              f"its classes are {', '.join(names)}"))
    return found


def _write(store: Store, checked: pl.DataFrame, status: str, model_name: str, now: datetime,
           statement: Callable[[Store, str, str, datetime], None]) -> None:
    """Write the labels of one status with one set-wise statement: the frame's columns are handed to
    DuckDB as they are (no copy, no filtered frame); the statement keeps the rows of that status."""
    if not checked.select((pl.col("status") == status).any()).item():
        return
    written = checked.select("status", "request_id", pl.col("row_index").cast(pl.Int32, strict=False), "label",
                             "label_value", "event_time")  # a row index beyond INTEGER is a row not answered
    view = f"labels_{uuid.uuid4().hex}"
    with store.registered(view, arrow(written)):
        statement(store, view, model_name, now)


def arrow(frame: pl.DataFrame) -> Any:
    """The frame as Arrow for `Store.registered`, text as string views: polars' own layout, so no copy
    (the older large-string layout copies every string, about 40 ms a million-row column)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def counts(statuses: pl.DataFrame) -> dict[str, int]:
    """How many labels of each status (only the statuses that occur), in a stable order."""
    found = dict(statuses.group_by("status").len().iter_rows())
    order = ["recorded", "updated", "unchanged", *NOT_ANSWERED]
    return {status: int(found[status]) for status in order if status in found}


def empty_batch() -> pl.DataFrame:
    return pl.DataFrame(schema=BATCH)


def as_batch(columns: dict[str, Any]) -> pl.DataFrame:
    """A batch from its columns (lists or series), typed as BATCH."""
    return pl.DataFrame({name: columns[name] for name in BATCH}, schema=BATCH)


def positions(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int64)
