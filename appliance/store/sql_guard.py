"""What the SQL console lets run: one statement that only reads the store, checked before it runs.

The check reads DuckDB's own parse of the statement (`extract_statements` for its type,
`json_serialize_sql` for its tree), never the text with patterns:

- one statement, of type SELECT (which includes SHOW, DESCRIBE, SUMMARIZE and FROM-first queries)
  or EXPLAIN of such a statement (not EXPLAIN ANALYZE, which runs it);
- every query node of the tree is a SELECT, a set operation or a CTE: an INSERT, UPDATE or DELETE
  written inside a WITH clause is refused;
- every relation it reads is a table or view of the store (or a CTE in scope), or one of a few
  table functions that read nothing outside the database (`range`, `unnest`, the `duckdb_*`
  catalog functions). A file path, URL or other database named as a table, and file readers such
  as `read_text`, `read_csv` or `glob`, are refused.

In the daemon this is what keeps files out of reach: DuckDB's `enable_external_access` is a setting
of the whole database instance, which the daemon's own jobs (exports, backups, datasets) need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from appliance.errors import QueryError, ReadOnlyViolation

READ_STATEMENTS = ("SELECT", "EXPLAIN")
READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "duckdb_columns", "duckdb_constraints",
    "duckdb_functions", "duckdb_indexes", "duckdb_keywords", "duckdb_schemas", "duckdb_sequences",
    "duckdb_tables", "duckdb_types", "duckdb_views", "pragma_table_info", "pragma_storage_info",
    "pragma_database_size", "pragma_version", "pragma_show",
})
# Scalar functions that tell the daemon's settings and environment (paths of the home, the account's
# home directory): an auditor needs the store's contents, not where it lives.
SCALAR_FUNCTIONS_REFUSED = frozenset({"current_setting", "getenv", "getvariable"})
_CATALOG = ("SELECT database_name, schema_name, table_name FROM duckdb_tables() UNION ALL "
            "SELECT database_name, schema_name, view_name FROM duckdb_views()")


@dataclass(frozen=True, slots=True)
class Relation:
    """A relation known to the database: (catalog, schema, name), all lower case."""

    catalog: str
    schema: str
    name: str


def check(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise ReadOnlyViolation (or QueryError for a parse error) unless `sql` may run in the console."""
    kind = _statement_type(connection, sql)
    if kind == "EXPLAIN":
        sql = _explained(connection, sql)
    tree = _tree(connection, sql)
    known = {Relation(*(str(part).lower() for part in row)) for row in connection.execute(_CATALOG).fetchall()}
    _walk(tree, frozenset(), known)


def _statement_type(connection: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        types = [s.type.name for s in connection.extract_statements(sql)]
    except duckdb.Error as e:
        raise QueryError(f"query does not parse: {_first_line(e)}") from e
    if not types:
        raise ReadOnlyViolation("the query is empty; pass one SELECT statement")
    if len(types) > 1:
        raise ReadOnlyViolation(f"the query holds {len(types)} statements; pass one SELECT statement")
    if types[0] not in READ_STATEMENTS:
        raise ReadOnlyViolation(f"vigil sql is read-only: a {types[0]} statement is refused and nothing was "
                                "changed; use SELECT (or SHOW, DESCRIBE, EXPLAIN)")
    return types[0]


def _explained(connection: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The statement EXPLAIN explains; EXPLAIN ANALYZE (which runs it) and EXPLAIN options are refused."""
    tokens = [start for start, kind in duckdb.tokenize(sql) if kind != duckdb.token_type.comment]
    if len(tokens) < 2:
        raise ReadOnlyViolation("EXPLAIN needs a SELECT statement to explain")
    start = tokens[1]
    rest = sql[start:]
    if rest[:7].upper() in ("ANALYZE", "ANALYSE"):
        raise ReadOnlyViolation("EXPLAIN ANALYZE runs its statement and is refused; use EXPLAIN")
    if rest.startswith("("):
        raise ReadOnlyViolation("EXPLAIN with options is refused; use EXPLAIN followed by a SELECT")
    _statement_type(connection, rest)
    return rest


def _tree(connection: duckdb.DuckDBPyConnection, sql: str) -> Any:
    found = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(found[0]) if found else {}
    if tree.get("error"):
        raise ReadOnlyViolation(f"vigil sql is read-only and runs only SELECT statements "
                                f"({tree.get('error_message', 'not a SELECT')})")
    return tree


def _walk(node: Any, ctes: frozenset[str], known: set[Relation]) -> None:
    """Check every query node and relation under `node`; `ctes` are the CTE names in scope."""
    if isinstance(node, list):
        for item in node:
            _walk(item, ctes, known)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if isinstance(kind, str) and kind.endswith("_NODE") and "class" not in node:
        _query_node(kind)
        if kind == "RECURSIVE_CTE_NODE":
            ctes = ctes | {str(node.get("cte_name", "")).lower()}
    if "class" not in node and kind in ("BASE_TABLE", "TABLE_FUNCTION", "SHOW_REF"):
        _relation(node, ctes, known)
    if node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() in SCALAR_FUNCTIONS_REFUSED:
        raise ReadOnlyViolation(f"vigil sql does not tell the daemon's settings or environment "
                                f"({node['function_name']}() is refused); query the store's tables")
    entries = (node.get("cte_map") or {}).get("map") or []
    for entry in entries:  # a CTE sees the ones defined before it
        _walk(entry.get("value"), ctes, known)
        ctes = ctes | {str(entry.get("key", "")).lower()}
    for key, value in node.items():
        if key != "cte_map":
            _walk(value, ctes, known)


def _query_node(kind: str) -> None:
    if kind not in READ_NODES:
        what = kind.removesuffix("_QUERY_NODE").removesuffix("_NODE")
        raise ReadOnlyViolation(f"vigil sql is read-only: the query holds a {what} (in a WITH clause?) and is "
                                "refused; nothing was changed")


def _relation(node: dict[str, Any], ctes: frozenset[str], known: set[Relation]) -> None:
    kind = node["type"]
    if kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if function.get("schema") or function.get("catalog") or name not in TABLE_FUNCTIONS:
            raise QueryError(f"query failed: the table function {name}() is not available in the console; it "
                             "reads only the store's tables and views (no files, URLs or other databases)")
        return
    if kind == "SHOW_REF" and (node.get("show_type") == "SHOW_SPECIAL" or not node.get("table_name")):
        return
    name = str(node.get("table_name", "")).lower()
    schema = str(node.get("schema_name", "")).lower()
    catalog = str(node.get("catalog_name", "")).lower()
    if not schema and not catalog and name in ctes:
        return
    if not any(_matches(r, catalog, schema, name) for r in known):
        raise QueryError(f"query failed: '{node.get('table_name')}' is not a table or view of the store; the "
                         "console reads only the store (no files, URLs or other databases)")


def _matches(relation: Relation, catalog: str, schema: str, name: str) -> bool:
    return (relation.name == name and (not schema or relation.schema == schema)
            and (not catalog or relation.catalog == catalog))


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
