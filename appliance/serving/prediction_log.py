"""The durable prediction log: one writer thread, group commit, bounded queue.

A request hands its rows to `submit` and waits; the writer commits everything queued in one
transaction as soon as the previous commit ends, then wakes every waiter of that commit. A response
is sent only after its rows are committed, so a `kill -9` loses no acknowledged prediction. The
queue is bounded in rows: when it is full, new requests get 503 at once instead of waiting.

One request's rows never fail another's: when a group commit fails for a row (not for the disk),
the group is split and committed in halves until the one request the store refuses stands alone;
it is answered with the error and kept in `rejected_requests`, the rest as soon as their half
commits. A full disk fails the whole group with `StoreFull` (503 with Retry-After), since no
split would help.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from appliance.clock import utc_now
from appliance.errors import RetryLater, StoreError, StoreFull
from appliance.core.inputs import Inputs
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


@dataclass(eq=False)
class LogRecord:
    """The rows of one scored request (or its shadow scoring)."""

    request_id: str
    model_name: str
    version: int
    route: str
    api: str
    predictions: np.ndarray
    scores: np.ndarray | None
    latency_ms: float
    flags: list[list[str]]
    inputs: Inputs | None  # typed model input; None when already logged (shadow)
    audit_sample: bool = False  # chosen at random, when answered, for unbiased outcome metrics
    logged_at: Any = field(default_factory=utc_now)
    event_times: list[Any] | None = None  # per row, when what it scores happened (client-given); None: not given
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    log_rows: list[tuple[Any, ...]] = field(default_factory=list)
    input_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Rows are built here, in the request's thread: the writer thread only appends and commits,
        # so the one thread every request waits for needs the interpreter lock as little as possible.
        scores, probabilities = _scores_and_probabilities(self.predictions, self.scores)
        events = self.event_times if self.event_times is not None else [None] * len(self.predictions)
        self.log_rows = [(self.request_id, index, self.logged_at, self.model_name, self.version, self.route,
                          self.api, prediction, score, self.latency_ms, self.flags[index], self.audit_sample,
                          probabilities[index], events[index])
                         for index, (prediction, score) in enumerate(zip(self.predictions.tolist(), scores))]
        if self.inputs is not None:
            self.input_rows = [(self.request_id, index, *values) for index, values in enumerate(self.inputs.rows())]

    @property
    def rows(self) -> int:
        return len(self.predictions)


class PredictionLog:
    def __init__(self, store: Store, *, max_pending_rows: int = 50_000) -> None:
        self._store = store
        self.max_pending_rows = max_pending_rows
        self._pending: deque[LogRecord | dict[str, Any]] = deque()
        self._pending_rows = 0
        self._cv = threading.Condition()
        self._stopping = False
        self.commits = 0
        self.refused = 0  # requests whose rows could not be stored, alone, after their group failed
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Rows waiting to be committed."""
        return self._pending_rows

    def submit(self, record: LogRecord) -> None:
        with self._cv:
            if self._stopping:
                raise RetryLater("the daemon is shutting down; retry shortly", 503, 1.0)
            if self._pending_rows + record.rows > self.max_pending_rows:
                raise RetryLater("the prediction log is saturated; retry shortly", 503, 1.0)
            self._pending.append(record)
            self._pending_rows += record.rows
            self._cv.notify()

    def submit_rejection(self, row: dict[str, Any], timeout: float = 5.0) -> None:
        """Keep a rejected request for data-quality monitoring; waits for its commit, but a saturated
        log drops it rather than delay the client's error answer (it is still counted in metrics)."""
        done = threading.Event()
        with self._cv:
            if self._stopping or self._pending_rows >= self.max_pending_rows:
                return
            self._pending.append({**row, "_done": done})
            self._pending_rows += 1
            self._cv.notify()
        done.wait(timeout)

    def wait(self, record: LogRecord, timeout: float = 30.0) -> None:
        if not record.done.wait(timeout):
            raise RetryLater("the prediction log did not commit in time; retry shortly", 503, 1.0)
        if isinstance(record.error, StoreFull):
            raise StoreFull(f"prediction log commit failed: {record.error}") from record.error
        if record.error is not None:
            raise StoreError(f"prediction log commit failed: {record.error}") from record.error

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything queued, then stop the writer."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stopping:
                    self._cv.wait()
                if not self._pending and self._stopping:
                    return
                batch = list(self._pending)
                self._pending.clear()
                self._pending_rows = 0
            self._commit(batch)

    def _commit(self, batch: list[LogRecord | dict[str, Any]]) -> None:
        """Commit `batch` and answer its waiters. When the group fails for something in a row (not for the
        disk), its halves are committed apart, down to the one request that cannot be stored: that one
        alone is answered with the error and kept in rejected_requests; every other waiter is answered
        only once its own rows have committed."""
        error: BaseException | None = None
        for _ in range(2):  # a second try starts with fresh appenders (e.g. after a table gained a column)
            error = self._try(batch)
            if error is None:
                break
        self._isolate(batch, error)

    def _isolate(self, batch: list[LogRecord | dict[str, Any]], error: BaseException | None) -> None:
        if error is None or isinstance(error, StoreFull) or len(batch) == 1:
            self._answer(batch, error)
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            self._isolate(half, self._try(half))

    def _try(self, batch: list[LogRecord | dict[str, Any]]) -> BaseException | None:
        try:
            self._write([r for r in batch if isinstance(r, LogRecord)], [r for r in batch if isinstance(r, dict)])
        except BaseException as e:  # the caller decides who learns of it; the writer thread must live on
            return e
        self.commits += 1
        return None

    def _answer(self, batch: list[LogRecord | dict[str, Any]], error: BaseException | None) -> None:
        if error is not None and not isinstance(error, StoreFull) and len(batch) == 1:
            self._keep_refused(batch[0], error)
        for item in batch:
            if isinstance(item, LogRecord):
                item.error = error
                item.done.set()
            else:
                item["_done"].set()

    def _keep_refused(self, item: LogRecord | dict[str, Any], error: BaseException) -> None:
        """Record the request that could not be logged, so its loss is visible (best effort: the store may be
        what failed)."""
        self.refused += 1
        if not isinstance(item, LogRecord) or item.route == "shadow":
            return
        self._try([{**_refused_row(item, error), "_done": threading.Event()}])

    def _write(self, records: list[LogRecord], rejections: list[dict[str, Any]]) -> None:
        with self._store.transaction():
            if records:
                self._store.append_rows("prediction_log", None, _log_rows(records))
                for model_name, columns, rows in _input_rows(records):
                    self._store.append_rows(pq.inputs_table(model_name), columns, rows)
            for row in rejections:
                pq.insert_rejection(self._store, {k: v for k, v in row.items() if k != "_done"})


def _scores_and_probabilities(predictions: np.ndarray, scores: np.ndarray | None) -> tuple[list[Any], list[Any]]:
    """Per row: the `score` column and the `probabilities` column. A multiclass answer (scores with one
    column per class, predictions the chosen class's position) keeps the chosen class's probability as
    its score and every class's probability besides; binary and regression rows have no `probabilities`."""
    if scores is None:
        return [None] * len(predictions), [None] * len(predictions)
    if scores.ndim == 1:
        return scores.tolist(), [None] * len(predictions)
    chosen = predictions.astype(np.intp)
    return scores[np.arange(len(chosen)), chosen].tolist(), scores.tolist()


def _refused_row(record: LogRecord, error: BaseException) -> dict[str, Any]:
    """A rejected_requests row for a request whose rows the store refused (its values escaped, so it stores)."""
    problem = f"the prediction log could not store this request's rows: {_escaped(str(error))[:500]}"
    return {"request_id": _escaped(record.request_id), "received_at": record.logged_at,
            "model_name": record.model_name, "api": record.api, "status": 500, "reason": "log_write_failed",
            "errors": [{"field": "(body)", "problem": problem, "kind": "log_write_failed"}],
            "body_excerpt": _escaped(repr(record.input_rows[:1] or record.log_rows[:1]))[:2048]}


def _escaped(text: str) -> str:
    """`text` with anything UTF-8 cannot hold written as a backslash escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _log_rows(records: list[LogRecord]) -> list[tuple[Any, ...]]:
    """Rows in prediction_log's column order."""
    return [row for r in records for row in r.log_rows]


def _input_rows(records: list[LogRecord]) -> list[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """(model, input-table columns to fill, rows), grouped by model and feature list."""
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    for r in records:
        if r.inputs is not None:
            groups.setdefault((r.model_name, tuple(r.inputs.names)), []).extend(r.input_rows)
    return [(model, ["request_id", "row_index", *columns], rows) for (model, columns), rows in groups.items()]
