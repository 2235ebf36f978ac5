"""Opening the DuckDB store, running bound statements, and transactions.

DuckDB errors are wrapped here into `StoreError`s, so nothing above this module sees the driver.
Extension auto-install and auto-load are off: an edge box has no internet, and nothing Vigil needs
(Parquet, CSV, JSON) is an extension that must be fetched.
"""

from __future__ import annotations

import errno
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb

from appliance.errors import QueryError, StoreError, StoreFull, StoreInUse
from appliance.store.audit_anchors import AuditAnchors

OFFLINE_SETTINGS = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}

_PID = re.compile(r"\(PID (\d+)\)")
LOCK_RETRY_S = 0.05  # between tries while another process holds the store's lock
LOCK_WAIT_S = 3.0  # how long a command waits for a lock held for a moment (a read-only console's refresh)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # the device, the user's quota, or a file-size limit



def sql_literal(text: str) -> str:
    """`text` as a SQL string literal, for the few places DuckDB takes no bound parameter (a COPY's or a
    table function's file path, SQL text handed to the SQL console)."""
    return "'" + text.replace("'", "''") + "'"

class Store:
    """One DuckDB connection with Vigil's settings. Use as a context manager to close it."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self._connection = connection
        self.path = path
        self.read_only = read_only
        self._depth = 0
        self._appenders: dict[tuple[str, tuple[str, ...] | None], Any] = {}
        # The home's audit anchors (None for an in-memory store), shared with this store's cursors;
        # a transaction that added audit rows anchors the new head right after it commits.
        self.anchors: AuditAnchors | None = None
        self._audit_added = False

    @classmethod
    def open(
        cls, path: Path, *, read_only: bool = False, threads: int = 2, memory_limit: str = "2GB",
        wait_s: float = 0.0,
    ) -> "Store":
        """Open the store file; while another process holds its lock, try again for up to `wait_s`
        seconds (a read-only console holds it for a moment on each refresh) before StoreInUse."""
        config: dict[str, Any] = dict(OFFLINE_SETTINGS, threads=threads, memory_limit=memory_limit)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                connection = duckdb.connect(str(path), read_only=read_only, config=config)
                break
            except duckdb.IOException as e:
                error = _lock_error(path, e)
                if not isinstance(error, StoreInUse) or time.monotonic() >= deadline:
                    raise error from e
            except duckdb.Error as e:
                raise StoreError(f"cannot open store {path}: {e}") from e
            time.sleep(LOCK_RETRY_S)
        store = cls(connection, path, read_only)
        store.anchors = AuditAnchors(path.parent)
        return store

    @classmethod
    def memory(cls) -> "Store":
        """A throwaway in-memory database with the same offline settings."""
        return cls(duckdb.connect(":memory:", config=dict(OFFLINE_SETTINGS)), Path(":memory:"), False)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run one bound statement and return all rows."""
        try:
            cursor = self._connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except duckdb.Error as e:
            raise _failure(f"store statement failed: {e}", e) from e

    def execute_script(self, sql: str) -> None:
        """Run several statements with no parameters (migrations)."""
        try:
            self._connection.execute(sql)
        except duckdb.Error as e:
            raise StoreError(f"store script failed: {e}") from e

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts keyed by column name."""
        try:
            cursor = self._connection.execute(sql, params)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except duckdb.Error as e:
            raise StoreError(f"store query failed: {e}") from e

    def row(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        found = self.execute(sql, params)
        return found[0][0] if found else None

    def has_table(self, name: str) -> bool:
        """Whether a table or view of that name exists (a model's input table appears with its first row)."""
        return bool(self.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))

    def table_params(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a bound query."""
        try:
            cursor = self._connection.execute(sql, params)
            return [d[0] for d in cursor.description or []], cursor.fetchall()
        except duckdb.Error as e:
            raise StoreError(f"store query failed: {e}") from e

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """A bound query's result as one Arrow table (columnar: no Python object per value)."""
        try:
            return self._connection.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as e:
            raise _failure(f"store query failed: {e}", e) from e

    def statement_types(self, sql: str) -> list[str]:
        """The type of each statement in `sql` ('SELECT', 'INSERT', …), without running it."""
        try:
            return [s.type.name for s in self._connection.extract_statements(sql)]
        except duckdb.Error as e:
            raise QueryError(f"query does not parse: {_first_line(e)}") from e

    def cursor(self) -> "Store":
        """A second handle on the same database for another thread (DuckDB cursors are per thread)."""
        handle = Store(self._connection.cursor(), self.path, self.read_only)
        handle.anchors = self.anchors
        return handle

    def driver_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor for a store module that runs it itself (the SQL console: it streams,
        interrupts and closes it); the caller closes it."""
        return self._connection.cursor()

    def append_rows(self, table: str, columns: list[str] | None, rows: list[tuple[Any, ...]]) -> None:
        """Insert many rows through DuckDB's appender (much cheaper per call than INSERT statements).

        Appenders are kept per table and column list for this handle's next calls; a failure drops them.
        """
        key = (table, tuple(columns) if columns else None)
        try:
            appender = self._appenders.get(key)
            if appender is None:
                appender = self._appenders[key] = self._connection.appender(table, columns=columns)
            appender.append_rows(rows)
            appender.flush()
        except duckdb.Error as e:
            self._appenders.clear()
            raise _failure(f"appending to {table} failed: {e}", e) from e

    @contextmanager
    def registered(self, name: str, table: Any) -> Iterator[str]:
        """`table` (an Arrow table) readable by this handle's statements as the view `name`, for set-wise
        statements over many rows at once (no row-by-row inserts); unregistered on leaving."""
        try:
            self._connection.register(name, table)
        except duckdb.Error as e:
            raise StoreError(f"cannot register {name}: {e}") from e
        try:
            yield name
        finally:
            self._connection.unregister(name)

    def set_option(self, name: str, value: str) -> None:
        """Set a DuckDB option on this connection (names are Vigil's constants, never user input)."""
        self.execute_script(f"SET {name} = '{value}'")

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """All statements inside commit together or not at all; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._audit_added = False
            self.execute("ROLLBACK")
            raise
        self._depth = 0
        if self._audit_added and self.anchors is not None:
            self._audit_added = False
            with self.anchors.lock:  # verification reads store and anchors under the same lock
                self.execute("COMMIT")
                self.anchors.record(self)
            return
        self._audit_added = False
        self.execute("COMMIT")

    def audit_added(self) -> None:
        """Note that this transaction added audit rows: its commit appends the new head to the anchors."""
        if not self._depth:
            raise StoreError("audit rows are appended inside a transaction")
        self._audit_added = True


def _failure(message: str, error: Exception) -> StoreError:
    """StoreFull when the driver failed for lack of disk space (a state that passes), else StoreError."""
    text = str(error)
    if any(os.strerror(code) in text for code in _NO_SPACE):
        return StoreFull(message)
    return StoreError(message)


def _lock_error(path: Path, error: Exception) -> StoreError:
    message = str(error)
    if "lock" not in message.lower():
        return StoreError(f"cannot open store {path}: {_first_line(error)}")
    pid = _PID.search(message)
    holder = f"process {pid.group(1)}" if pid else "another process"
    return StoreInUse(
        f"store {path} is in use by {holder}; stop it or go through its API (`vigil` commands do when the daemon runs)"
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
