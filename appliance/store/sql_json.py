"""A console query's rows rendered as JSON text by DuckDB, exactly as Python's json would write them.

The console wraps a checked query so that each row comes back as one string, a JSON array:
DuckDB builds it while the interpreter lock is free, and the answer is never turned into Python
values (which, for 10,000 rows, stalls every other Python thread for tens of milliseconds).

Each column is rendered as `json.dumps` of the value DuckDB's Python client returns, after the
JSON fallback `appliance.jsonable.plain`: numbers, booleans, text and UUIDs by `to_json`;
timestamps and times as `isoformat()` text; decimals (scale up to 6) and JSON columns as text;
lists, structs and maps of such plain types by `to_json`. A NULL is `null`. Floats are written with
DuckDB's shortest round-trip digits (`1e16` as `10000000000000000.0`): the same number once parsed.
A column of any other type (blobs, intervals, zoned or nanosecond timestamps, decimals of scale 7 or
more, nested values holding them) has no exact rendering, and the console converts those rows in
Python as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from duckdb.sqltypes import DuckDBPyType

from appliance.errors import QueryError, ReadOnlyViolation
from appliance.store import sql_guard

PLAIN = frozenset({"boolean", "tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint",
                   "uinteger", "ubigint", "uhugeint", "float", "double", "varchar", "uuid", "date", "enum"})
MAP_KEYS = frozenset({"varchar", "tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint",
                      "uinteger", "ubigint"})
MAX_PLAIN_SCALE = 6  # Python writes Decimal with an exponent below -6 in scientific notation


@dataclass(frozen=True, slots=True)
class Rendering:
    """The query that yields one JSON array per row (at most `most` rows), and the column names."""

    columns: list[str]
    query: str


def rendering(connection: duckdb.DuckDBPyConnection, sql: str, most: int) -> Rendering | None:
    """How to have DuckDB render `sql`'s rows (checked already), or None when it cannot exactly."""
    try:
        relation = connection.sql(sql)  # binds the statement; nothing runs yet
        columns, types = list(relation.columns), list(relation.types)
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return None
    values = [_value(f"q.c{i}", kind) for i, kind in enumerate(types)]
    body = _body(sql)
    if not values or body is None or any(v is None for v in values):
        return None
    row = " || ',' || ".join(f"coalesce({v}, 'null')" for v in values)
    names = ", ".join(f"c{i}" for i in range(len(values)))
    query = f"SELECT '[' || {row} || ']' FROM (\n{body}\n) AS q({names}) LIMIT {int(most)}"
    try:  # the wrapped text is checked again, so no query text can change what the wrapper reads
        sql_guard.check(connection, query)
    except (QueryError, ReadOnlyViolation):
        return None
    return Rendering(columns, query)


def _value(expression: str, kind: DuckDBPyType) -> str | None:
    """SQL for one column's JSON text (NULL for NULL), or None when no rendering matches Python's."""
    name = kind.id
    if str(kind) == "JSON":  # Python reads a JSON column as its text
        return f"to_json({expression}::VARCHAR)::VARCHAR"
    if name == "timestamp":
        return _iso(expression, "%Y-%m-%dT%H:%M:%S")
    if name == "time":  # as a timestamp on some day, written without the date
        return _iso(f"(DATE '2000-01-01' + {expression})", "%H:%M:%S")
    if name == "decimal" and _scale(kind) <= MAX_PLAIN_SCALE:
        return f"to_json({expression}::VARCHAR)::VARCHAR"
    if _plain(kind):
        return f"to_json({expression})::VARCHAR"
    return None


def _scale(decimal: DuckDBPyType) -> int:
    scale = dict(decimal.children)["scale"]
    return scale if isinstance(scale, int) else MAX_PLAIN_SCALE + 1


def _iso(expression: str, seconds: str) -> str:
    """`isoformat()` as JSON text: microseconds only when there are some."""
    return (f"'\"' || CASE WHEN epoch_us({expression}) % 1000000 = 0 THEN strftime({expression}, '{seconds}') "
            f"ELSE strftime({expression}, '{seconds}.%f') END || '\"'")


def _plain(kind: DuckDBPyType) -> bool:
    """Whether `to_json` writes this type as `json.dumps` writes DuckDB's Python value of it."""
    name = kind.id
    if name in PLAIN:
        return str(kind) != "JSON"
    children = {key: child for key, child in kind.children if isinstance(child, DuckDBPyType)} if name in (
        "list", "array", "struct", "map") else {}
    if name in ("list", "array"):
        return _plain(children["child"])
    if name == "struct":
        return all(_plain(child) for child in children.values())
    if name == "map":
        key = children["key"]
        return key.id in MAP_KEYS and str(key) != "JSON" and _plain(children["value"])
    return False


def _body(sql: str) -> str | None:
    """`sql` without a trailing semicolon (and what follows it), to stand inside parentheses."""
    try:
        tokens = duckdb.tokenize(sql)
    except duckdb.Error:
        return None
    code = [start for start, kind in tokens if kind != duckdb.token_type.comment]
    while code and sql[code[-1]:code[-1] + 1] == ";":
        sql = sql[:code.pop()]
    return sql if code else None
