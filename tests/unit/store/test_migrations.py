"""appliance/store/migrations.py on a real DuckDB file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from appliance.errors import MigrationError
from appliance.store import migrations
from appliance.store.connection import Store

TABLES = """
SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'
ORDER BY table_name
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "vigil.duckdb") as opened:
        yield opened


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A copy of the first real migration that a test may change and add to."""
    target = tmp_path / "migrations"
    target.mkdir()
    shutil.copy(migrations.MIGRATIONS_DIR / "0001_init.sql", target)
    return target


def table_names(store: Store) -> list[str]:
    return [name for (name,) in store.execute(TABLES)]


def test_apply_builds_an_empty_store(store: Store) -> None:
    shipped = [m.name for m in migrations.discover()]
    assert shipped[0] == "0001_init"
    assert [(s.name, s.state) for s in migrations.status(store)] == [(name, "pending") for name in shipped]
    assert migrations.apply(store) == shipped
    assert set(table_names(store)) >= {
        "aliases", "artifacts", "audit_log", "contracts", "dataset_snapshots", "deployments", "model_versions",
        "models", "schema_migrations", "version_comparisons", "version_metrics", "prediction_log", "feedback",
        "rejected_requests", "api_keys",
    }
    assert [name for _, name in store.execute("SELECT version, name FROM schema_migrations ORDER BY 1")] == shipped
    assert migrations.apply(store) == []
    assert migrations.require_current(store) is None


def test_status_lists_applied_migrations(store: Store, directory: Path) -> None:
    migrations.apply(store, directory)
    states = migrations.status(store, directory)
    assert [(s.number, s.name, s.state) for s in states] == [(1, "0001_init", "applied")]
    assert states[0].applied_at is not None


def test_pending_migration_is_reported(store: Store, directory: Path) -> None:
    migrations.apply(store, directory)
    (directory / "0002_more.sql").write_text("CREATE TABLE more_things (a INTEGER);\n")
    with pytest.raises(MigrationError, match=r"needs 1 migration\(s\) \(0002_more first\)"):
        migrations.require_current(store, directory)
    assert migrations.apply(store, directory) == ["0002_more"]
    assert "more_things" in table_names(store)


def test_edited_applied_migration_is_refused(store: Store, directory: Path) -> None:
    migrations.apply(store, directory)
    init = directory / "0001_init.sql"
    init.write_text(init.read_text() + "\n-- an edit\n")
    assert [s.state for s in migrations.status(store, directory)] == ["changed"]
    with pytest.raises(MigrationError, match="migration 0001_init changed after it was applied"):
        migrations.apply(store, directory)


def test_store_newer_than_the_code_is_refused(store: Store, directory: Path) -> None:
    (directory / "0002_more.sql").write_text("CREATE TABLE more_things (a INTEGER);\n")
    migrations.apply(store, directory)
    (directory / "0002_more.sql").unlink()
    assert [(s.name, s.state) for s in migrations.status(store, directory)] == [
        ("0001_init", "applied"), ("0002_more", "unknown")]
    with pytest.raises(MigrationError, match="is newer than this Vigil .*0002_more"):
        migrations.check(store, directory)


def test_failing_migration_is_rolled_back(store: Store, directory: Path) -> None:
    migrations.apply(store, directory)
    (directory / "0002_bad.sql").write_text(
        "CREATE TABLE half_done (a INTEGER);\nINSERT INTO half_done VALUES (1);\nSELECT * FROM no_such_table;\n"
    )
    with pytest.raises(MigrationError, match="migration 0002_bad failed and was rolled back"):
        migrations.apply(store, directory)
    assert "half_done" not in table_names(store)
    assert store.execute("SELECT version FROM schema_migrations") == [(1,)]
    assert [s.state for s in migrations.status(store, directory)] == ["applied", "pending"]


def test_badly_named_file_is_refused(directory: Path) -> None:
    (directory / "0002-bad name.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="migration file 0002-bad name.sql is not named NNNN_name.sql"):
        migrations.discover(directory)


def test_gap_in_numbers_is_refused(directory: Path) -> None:
    (directory / "0003_skipped.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match=r"numbered 1..N without gaps; found \[1, 3\]"):
        migrations.discover(directory)


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="is missing"):
        migrations.discover(tmp_path / "nowhere")
