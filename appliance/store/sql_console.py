"""The read-only SQL console (`vigil sql`): one SELECT-like statement, never a write.

The statement's type is checked before it runs (only SELECT, including SHOW/DESCRIBE, and EXPLAIN
without ANALYZE),
and it runs inside a transaction that is always rolled back.
"""

from __future__ import annotations

import re
from typing import Any

from appliance.errors import ReadOnlyViolation
from appliance.store.connection import Store

READ_STATEMENTS = ("SELECT", "EXPLAIN")
_ANALYZE = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*EXPLAIN\s+ANALY[SZ]E\b", re.IGNORECASE | re.DOTALL)


def run_read_only(store: Store, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of `sql`; refuses anything that could write."""
    types = store.statement_types(sql)
    if not types:
        raise ReadOnlyViolation("the query is empty; pass one SELECT statement")
    if len(types) > 1:
        raise ReadOnlyViolation(f"the query holds {len(types)} statements; pass one SELECT statement")
    if types[0] not in READ_STATEMENTS:
        raise ReadOnlyViolation(
            f"vigil sql is read-only: a {types[0]} statement is refused and nothing was changed; "
            "use SELECT (or SHOW, DESCRIBE, EXPLAIN)"
        )
    if _ANALYZE.match(sql):
        raise ReadOnlyViolation("EXPLAIN ANALYZE runs its statement and is refused; use EXPLAIN")
    store.execute("BEGIN TRANSACTION")
    try:
        return store.table(sql)
    finally:
        store.execute("ROLLBACK")


def lock_down(store: Store) -> None:
    """Forbid file access from this connection for the rest of its life (used by `vigil sql`)."""
    store.set_option("enable_external_access", "false")
