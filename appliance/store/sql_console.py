"""The read-only SQL console (`vigil sql`, the console's SQL screen, the admin API's `sql`).

A query is checked before it runs (`sql_guard`: one statement that only reads the store), then runs
on its own DuckDB cursor inside a transaction that is always rolled back, within limits:

- time: `sql.timeout` from the moment it is asked for (its wait for a turn included);
- rows: at most `sql.max_rows` are fetched (streamed, never the whole result); a longer result is
  cut there and says it was truncated. For the daemon (`run_json`) DuckDB renders each row as JSON
  text (`sql_json`), so the answer never becomes Python values and holds the interpreter lock only
  briefly; types it cannot render exactly are converted in Python;
- memory: DuckDB's tracked memory may grow by at most `sql.memory_limit` while it runs, and the rows
  it returns may take at most as much again;
- CPU: at most `sql.concurrent_queries` run at once, each on a thread at nice 19, so scoring keeps
  the machine when it needs it;
- its client: when the caller's connection closes, the query is stopped;
- shutdown: `stop_all` interrupts every running query (the daemon does so on SIGTERM).

The calling thread watches the query and interrupts its cursor (`interrupt()`) when a limit is hit;
the query then fails at once with `QueryStopped`, naming the limit.

When the console owns its database instance (the CLI or the console's read-only view, no daemon),
`lock_down` also turns external access off for the whole instance, bounds its memory and threads,
and locks the configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import duckdb

from appliance import raw_json
from appliance.config import SqlConfig
from appliance.errors import QueryError, QueryStopped, RetryLater
from appliance.jsonable import plain
from appliance.raw_json import RawJSON
from appliance.store import sql_guard, sql_json
from appliance.store.connection import Store

NICENESS = 19
POLL_S = 0.05
FETCH_CHUNK = 1000
_MEMORY = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class ConsoleResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    max_rows: int
    rows_json: list[str] | None = None  # each row as a JSON array rendered by DuckDB (then `rows` is empty)

    def as_dict(self) -> dict[str, Any]:
        rows = [json.loads(r) for r in self.rows_json] if self.rows_json is not None else [list(r) for r in self.rows]
        return {"columns": self.columns, "rows": rows, "truncated": self.truncated, "max_rows": self.max_rows}

    def as_json(self) -> RawJSON:
        """The same result as `as_dict`, as JSON text (rows spliced in as DuckDB wrote them)."""
        rows = self.rows_json if self.rows_json is not None else [json.dumps(list(r), default=plain)
                                                                  for r in self.rows]
        return RawJSON(raw_json.dumps({"columns": self.columns, "rows": RawJSON("[" + ",".join(rows) + "]"),
                                       "truncated": self.truncated, "max_rows": self.max_rows}))


class _ResultTooLarge(Exception):
    """The rows fetched so far passed the memory limit."""


class Console:
    """Runs this process's console queries: a few at a time, each watched against its limits."""

    def __init__(self, config: SqlConfig) -> None:
        self.config = config
        self._pool = ThreadPoolExecutor(config.concurrent_queries, thread_name_prefix="sql-console",
                                        initializer=_lower_priority)
        self._lock = threading.Lock()
        self._running: set[duckdb.DuckDBPyConnection] = set()
        self._stopping = False

    def run(self, store: Store, sql: str, client_gone: Callable[[], bool] = _never, *,
            as_json: bool = False) -> ConsoleResult:
        """Rows of `sql` within the limits; raises ReadOnlyViolation, QueryError or QueryStopped. With
        `as_json`, DuckDB renders the rows as JSON text where it can (`rows_json`)."""
        deadline = time.monotonic() + self.config.timeout
        connection = store.driver_cursor()
        try:
            sql_guard.check(connection, sql)
            with self._tracked(connection):
                future = self._pool.submit(self._execute, connection, sql, as_json)
                return self._watch(store, connection, future, deadline, client_gone)
        finally:
            connection.close()

    def run_json(self, store: Store, sql: str, client_gone: Callable[[], bool] = _never) -> RawJSON:
        """`run` answered as JSON text, for the admin API to send as it is."""
        return self.run(store, sql, client_gone, as_json=True).as_json()

    @property
    def running(self) -> int:
        """Queries asked for and not yet answered (running or waiting for their turn)."""
        with self._lock:
            return len(self._running)

    def stop_all(self) -> None:
        """Interrupt every running query and refuse new ones (the daemon is stopping)."""
        with self._lock:
            self._stopping = True
            running = list(self._running)
        for connection in running:
            connection.interrupt()

    def close(self) -> None:
        self.stop_all()
        self._pool.shutdown(wait=True, cancel_futures=True)

    @contextlib.contextmanager
    def _tracked(self, connection: duckdb.DuckDBPyConnection) -> Any:
        with self._lock:
            if self._stopping:
                raise RetryLater("the daemon is shutting down; run the query again once it is back", 503, 2.0)
            self._running.add(connection)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(connection)

    def _watch(self, store: Store, connection: duckdb.DuckDBPyConnection, future: Future[ConsoleResult],
               deadline: float, client_gone: Callable[[], bool]) -> ConsoleResult:
        """Wait for the query, stopping it when a limit is hit; the reason is the error raised."""
        with contextlib.closing(store.driver_cursor()) as watcher:
            baseline = _memory(watcher)
            while True:
                try:
                    return future.result(timeout=POLL_S)
                except TimeoutError:
                    reason = self._reason(watcher, baseline, deadline, client_gone)
                except duckdb.InterruptException:  # interrupted by stop_all between two polls
                    reason = self._reason(watcher, baseline, deadline, client_gone) or QueryStopped(
                        "the query was interrupted")
                if reason is not None:
                    _stop(connection, future)
                    raise reason

    def _reason(self, watcher: duckdb.DuckDBPyConnection, baseline: int, deadline: float,
                client_gone: Callable[[], bool]) -> Exception | None:
        if self._stopping:
            return RetryLater("the daemon is shutting down; the query was stopped, run it again once it is back",
                              503, 2.0)
        if time.monotonic() > deadline:
            return QueryStopped(f"the query ran longer than sql.timeout ({self.config.timeout:g} s) and was "
                                "stopped; narrow it (WHERE, LIMIT, fewer joins) or raise sql.timeout")
        if client_gone():
            return QueryStopped("the client went away; the query was stopped")
        if _memory(watcher) - baseline > self.config.memory_limit_bytes:
            return _too_large(self.config.memory_limit)
        return None

    def _execute(self, connection: duckdb.DuckDBPyConnection, sql: str, as_json: bool) -> ConsoleResult:
        """Run `sql` in a transaction that is rolled back, fetching at most max_rows + 1 rows."""
        limit = self.config.max_rows
        try:
            connection.execute("BEGIN TRANSACTION")
            try:
                rendering = sql_json.rendering(connection, sql, limit + 1) if as_json else None
                if rendering is not None:
                    connection.execute(rendering.query)
                    texts = _fetch_json(connection, limit + 1, self.config.memory_limit_bytes)
                    return ConsoleResult(rendering.columns, [], len(texts) > limit, limit, texts[:limit])
                connection.execute(sql)
                columns = [d[0] for d in connection.description or []]
                rows = _fetch(connection, limit + 1, self.config.memory_limit_bytes)
            finally:
                with contextlib.suppress(duckdb.Error):
                    connection.execute("ROLLBACK")
        except _ResultTooLarge:
            raise _too_large(self.config.memory_limit) from None
        except duckdb.InterruptException:
            raise  # the watcher raises the reason
        except duckdb.Error as e:
            raise QueryError(f"query failed: {_first_line(e)}") from e
        return ConsoleResult(columns, rows[:limit], len(rows) > limit, limit)


def lock_down(store: Store, config: SqlConfig) -> None:
    """For a database instance the console owns: no file, network or extension access, the console's
    memory limit and one thread for the whole instance, and no way to change that afterwards."""
    for name, value in (("memory_limit", config.memory_limit), ("threads", "1"),
                        ("autoinstall_known_extensions", "false"), ("autoload_known_extensions", "false"),
                        ("enable_external_access", "false"), ("lock_configuration", "true")):
        store.set_option(name, value)


def run_read_only(store: Store, sql: str, config: SqlConfig | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of `sql` through a console of its own (tests and one-off callers)."""
    console = Console(config or SqlConfig())
    try:
        result = console.run(store, sql)
    finally:
        console.close()
    return result.columns, result.rows


def _fetch(connection: duckdb.DuckDBPyConnection, most: int, memory_bytes: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    size = 0
    while len(rows) < most:
        chunk = connection.fetchmany(min(FETCH_CHUNK, most - len(rows)))
        if not chunk:
            break
        size += sum(_size(value) for row in chunk for value in row)
        if size > memory_bytes:
            raise _ResultTooLarge()
        rows.extend(chunk)
    return rows


def _fetch_json(connection: duckdb.DuckDBPyConnection, most: int, memory_bytes: int) -> list[str]:
    """The rendered rows (one string each), counting their text against the memory limit."""
    texts: list[str] = []
    size = 0
    while len(texts) < most:
        chunk = connection.fetchmany(min(FETCH_CHUNK, most - len(texts)))
        if not chunk:
            break
        size += sum(50 + len(row[0]) for row in chunk)
        if size > memory_bytes:
            raise _ResultTooLarge()
        texts.extend(row[0] for row in chunk)
    return texts


def _stop(connection: duckdb.DuckDBPyConnection, future: Future[ConsoleResult]) -> None:
    """Interrupt the query until its thread is done: an interrupt that lands between two statements
    (the transaction's start, the rendering's check) is lost, so it is repeated."""
    future.cancel()
    while True:
        connection.interrupt()
        try:
            future.result(timeout=POLL_S)
            return
        except TimeoutError:
            continue
        except Exception:
            return


def _size(value: Any) -> int:
    """Rough bytes of a fetched value (strings and lists by length; the rest as a small object)."""
    if isinstance(value, (str, bytes)):
        return 50 + len(value)
    if isinstance(value, (list, tuple)):
        return 56 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(_size(k) + _size(v) for k, v in value.items())
    return 32


def _memory(watcher: duckdb.DuckDBPyConnection) -> int:
    found = watcher.execute(_MEMORY).fetchone()
    return int(found[0]) if found else 0


def _too_large(limit: str) -> QueryStopped:
    return QueryStopped(f"the query needed more than sql.memory_limit ({limit}) and was stopped; aggregate or "
                        "filter in SQL, select fewer columns, or raise sql.memory_limit")


def _lower_priority() -> None:
    """Nice this console thread (Linux: per thread), so scoring threads come first."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
