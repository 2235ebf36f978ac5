"""`vigil sql`: read-only, three formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import query


def test_formats(home: Path, cli) -> None:
    sql = "SELECT 1 AS a, 'x,y' AS b"
    assert cli("sql", sql, "--home", home).out.splitlines() == ["a  b", "1  x,y"]
    assert cli("sql", sql, "--format", "csv", "--home", home).out == 'a,b\n1,"x,y"\n'
    assert json.loads(cli("sql", sql, "--format", "json", "--home", home).out) == [{"a": 1, "b": "x,y"}]


@pytest.mark.parametrize("statement", [
    "DELETE FROM schema_migrations",
    "INSERT INTO models VALUES ('m', 'binary', '', 'me', now()::TIMESTAMP)",
    "UPDATE schema_migrations SET name = 'x'",
    "DROP TABLE models",
    "CREATE TABLE t (a INT)",
    "COPY models TO '/tmp/vigil-models.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "SELECT 1; DELETE FROM schema_migrations",
])
def test_writes_are_refused_and_change_nothing(statement: str, home: Path, vigil) -> None:
    before = query(home, "SELECT * FROM schema_migrations")
    result = vigil("sql", statement, "--home", home)
    assert result.code == 2
    assert result.err.startswith("vigil: error:") and result.err.count("\n") == 1
    assert query(home, "SELECT * FROM schema_migrations") == before
    assert query(home, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'") == [(0,)]


def test_reading_files_from_the_console_is_off(home: Path, cli, flights_small: Path) -> None:
    result = cli("sql", f"SELECT count(*) FROM '{flights_small}'", "--home", home)
    assert result.code == 2 and "query failed" in result.err


def test_syntax_error_is_one_line(home: Path, cli) -> None:
    result = cli("sql", "SELEC 1", "--home", home)
    assert result.code == 2 and "does not parse" in result.err
