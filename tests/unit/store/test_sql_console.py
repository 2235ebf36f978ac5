"""appliance/store/sql_console.py: one read statement runs; anything that writes is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from appliance.errors import ReadOnlyViolation
from appliance.store.connection import Store
from appliance.store.sql_console import run_read_only


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "console.duckdb") as opened:
        opened.execute_script("CREATE TABLE flights (id INTEGER, carrier VARCHAR);"
                              "INSERT INTO flights VALUES (1, 'AA'), (2, 'UA');")
        yield opened


def contents(store: Store) -> list[tuple[object, ...]]:
    return store.execute("SELECT * FROM flights ORDER BY id")


def test_select_returns_columns_and_rows(store: Store) -> None:
    assert run_read_only(store, "SELECT carrier, id * 10 AS tens FROM flights ORDER BY id") == (
        ["carrier", "tens"], [("AA", 10), ("UA", 20)])
    assert run_read_only(store, "SHOW TABLES") == (["name"], [("flights",)])


@pytest.mark.parametrize("sql", [
    "INSERT INTO flights VALUES (3, 'DL')",
    "DELETE FROM flights",
    "UPDATE flights SET carrier = 'XX'",
    "CREATE TABLE other (a INTEGER)",
    "COPY flights TO '{tmp}/out.csv'",
    "ATTACH '{tmp}/other.duckdb' AS other",
])
def test_writes_are_refused_and_nothing_changes(store: Store, tmp_path: Path, sql: str) -> None:
    kind = sql.split()[0]
    with pytest.raises(ReadOnlyViolation, match=f"a {kind} statement is refused and nothing was changed"):
        run_read_only(store, sql.format(tmp=tmp_path))
    assert contents(store) == [(1, "AA"), (2, "UA")]
    assert {p.name for p in tmp_path.iterdir()} <= {"console.duckdb", "console.duckdb.wal"}
    assert [name for (name,) in store.execute("SHOW TABLES")] == ["flights"]


def test_explain_analyze_of_a_write_changes_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ReadOnlyViolation, match="EXPLAIN ANALYZE runs its statement"):
        run_read_only(store, "EXPLAIN ANALYZE DELETE FROM flights")
    assert contents(store) == [(1, "AA"), (2, "UA")]
    with pytest.raises(ReadOnlyViolation, match="EXPLAIN ANALYZE"):
        run_read_only(store, f"-- note\n/* x */ explain analyse COPY flights TO '{tmp_path}/leak.csv'")
    assert not (tmp_path / "leak.csv").exists()
    assert run_read_only(store, "EXPLAIN SELECT * FROM flights")[0]


def test_two_statements_are_refused(store: Store) -> None:
    with pytest.raises(ReadOnlyViolation, match="the query holds 2 statements"):
        run_read_only(store, "SELECT 1; DELETE FROM flights")
    assert contents(store) == [(1, "AA"), (2, "UA")]


@pytest.mark.parametrize("sql", ["", "   ", " ; "])
def test_empty_query_is_refused(store: Store, sql: str) -> None:
    with pytest.raises(ReadOnlyViolation, match="the query is empty"):
        run_read_only(store, sql)
