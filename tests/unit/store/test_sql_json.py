"""appliance/store/sql_json.py: rows rendered by DuckDB as JSON equal Python's JSON of the same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.config import SqlConfig
from appliance.jsonable import plain
from appliance.store.connection import Store
from appliance.store.sql_console import Console, ConsoleResult

# Every column type the store's tables and views use, and a few more a query can produce.
TYPES = """
CREATE TABLE every_type (
    n BIGINT, i INTEGER, s SMALLINT, ok BOOLEAN, x DOUBLE, seen TIMESTAMP, name VARCHAR, note TEXT,
    doc JSON, flags VARCHAR[], amount DECIMAL(12, 3), day DATE, clock TIME, big HUGEINT,
    id UUID, pair STRUCT(k VARCHAR, v DOUBLE), counts MAP(VARCHAR, INTEGER), f FLOAT
);
INSERT INTO every_type VALUES
    (9007199254740993, -7, 3, true, 0.1, TIMESTAMP '2026-12-04 19:50:11.123456', 'AA "quoted"\n\t\\ é ✈ \u2028',
     'plain', '{"b": [1, 2.5, null], "a": "x"}', ['unknown_category:dest', ''], 1.500, DATE '2026-12-04',
     TIME '12:34:56', 170141183460469231731687303715884105727, '6c3c461c-6d4e-4d93-a23a-5f986f3298c9',
     {'k': 'a', 'v': 1e16}, MAP {'x': 1}, 0.1),
    (-1, 0, -3, false, 'nan', TIMESTAMP '2026-12-04 19:50:11', '', '', '[]', [], -0.050, DATE '1970-01-01',
     TIME '00:00:00.25', -1, NULL, {'k': NULL, 'v': 'inf'}, MAP {}, 'inf'),
    (0, NULL, NULL, NULL, '-inf', TIMESTAMP '2026-12-04 19:50:11.5', NULL, NULL, NULL, [NULL, 'x'], 0.000,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (NULL, NULL, NULL, NULL, -0.0, NULL, NULL, NULL, 'null', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 5e-324),
    (1, 1, 1, true, 1e300, TIMESTAMP '1999-01-01 00:00:00.000001', 'ctrl \x01', 'x', '3', ['a'], 12345.678,
     DATE '2000-02-29', TIME '23:59:59.999999', 0, NULL, NULL, MAP {'a': NULL}, -1.5);
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "console.duckdb") as opened:
        opened.execute_script(TYPES)
        yield opened


def answers(store: Store, sql: str, max_rows: int = 10_000) -> tuple[ConsoleResult, ConsoleResult]:
    """The same query answered with rows as Python values and with rows rendered by DuckDB."""
    console = Console(SqlConfig(max_rows=max_rows))
    try:
        return console.run(store, sql), console.run(store, sql, as_json=True)
    finally:
        console.close()


def canonical(text: str) -> str:
    """JSON text parsed and written again: equal for equal values (NaN included, which != itself)."""
    return json.dumps(json.loads(text), sort_keys=True)


def python_json(result: ConsoleResult) -> str:
    """What the admin API sent before DuckDB rendered rows: json.dumps of the Python values."""
    return json.dumps(json.loads(json.dumps(result.as_dict(), default=plain)), default=plain)


def test_every_store_type_renders_as_python_json_writes_it(store: Store) -> None:
    python, rendered = answers(store, "SELECT * FROM every_type")
    assert rendered.rows_json is not None and len(rendered.rows_json) == 5  # rendered by DuckDB, not Python
    assert canonical(rendered.as_json().text) == canonical(python_json(python))
    assert json.loads(rendered.rows_json[0])[5] == "2026-12-04T19:50:11.123456"
    assert json.loads(rendered.rows_json[1])[10] == "-0.050"  # decimals as text, as `plain` writes them


def test_each_column_alone_matches(store: Store) -> None:
    columns = answers(store, "SELECT * FROM every_type LIMIT 0")[0].columns
    for column in columns:
        python, rendered = answers(store, f"SELECT {column} FROM every_type")
        assert rendered.rows_json is not None, column
        assert canonical(rendered.as_json().text) == canonical(python_json(python)), column


def test_types_without_an_exact_rendering_fall_back_to_python(store: Store) -> None:
    sql = "SELECT '\\x00ab'::BLOB AS b, INTERVAL 90 MINUTE AS wait, 1.5::DECIMAL(18, 10) AS fine, n FROM every_type"
    python, rendered = answers(store, sql)
    assert rendered.rows_json is None
    assert canonical(rendered.as_json().text) == canonical(python_json(python))


def test_order_truncation_and_duplicate_names_are_kept(store: Store) -> None:
    sql = "SELECT a.range AS k, b.range AS k FROM range(300) a, range(300) b ORDER BY a.range DESC, b.range -- last"
    python, rendered = answers(store, sql + "\n;", max_rows=1000)
    assert rendered.rows_json is not None
    assert rendered.columns == ["k", "k"] and rendered.truncated and python.truncated
    assert json.loads(rendered.as_json().text) == json.loads(python_json(python))
    assert json.loads(rendered.as_json().text)["rows"][:2] == [[299, 0], [299, 1]]


@pytest.mark.parametrize("sql", ["SHOW TABLES", "DESCRIBE every_type", "EXPLAIN SELECT * FROM every_type",
                                 "SUMMARIZE every_type", "FROM every_type SELECT n; -- a note"])
def test_other_read_statements_answer_the_same(store: Store, sql: str) -> None:
    python, rendered = answers(store, sql)
    expected: dict[str, Any] = json.loads(python_json(python))
    if sql.startswith("SUMMARIZE"):  # approximate statistics: compare the shape, not the estimates
        assert json.loads(rendered.as_json().text)["columns"] == expected["columns"]
        return
    assert canonical(rendered.as_json().text) == canonical(python_json(python))
