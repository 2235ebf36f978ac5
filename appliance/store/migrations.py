"""Numbered, forward-only SQL migrations from `migrations/`, each applied in its own transaction.

A migration is recorded with the sha256 of its file. An applied migration whose file changed since,
or a store carrying migrations this code does not know (a store newer than the code), is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from appliance.clock import utc_now
from appliance.errors import MigrationError
from appliance.store.connection import Store

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    checksum   VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file in the migrations directory."""

    number: int
    name: str
    path: Path
    checksum: str

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """A migration as the store sees it: 'applied', 'pending', 'changed' or 'unknown'."""

    number: int
    name: str
    state: str
    applied_at: datetime | None


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in number order; refuses gaps, duplicates and stray names."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} is missing; reinstall Vigil from its checkout")
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql; rename it")
        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        found.append(Migration(int(match.group(1)), path.stem, path, checksum))
    numbers = [m.number for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations must be numbered 1..N without gaps; found {numbers}")
    return found


def status(store: Store, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every known or applied migration with its state."""
    applied = _applied(store)
    result = []
    for migration in discover(directory):
        record = applied.pop(migration.number, None)
        if record is None:
            result.append(MigrationStatus(migration.number, migration.name, "pending", None))
        else:
            state = "applied" if record[1] == migration.checksum else "changed"
            result.append(MigrationStatus(migration.number, migration.name, state, record[2]))
    for number, (name, _checksum, applied_at) in sorted(applied.items()):
        result.append(MigrationStatus(number, name, "unknown", applied_at))
    return result


def check(store: Store, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Raise on changed or unknown migrations; return the pending ones."""
    states = status(store, directory)
    unknown = [s for s in states if s.state == "unknown"]
    if unknown:
        names = ", ".join(s.name for s in unknown)
        raise MigrationError(
            f"store {store.path} is newer than this Vigil (it has migration {names}); upgrade Vigil"
        )
    changed = [s for s in states if s.state == "changed"]
    if changed:
        names = ", ".join(s.name for s in changed)
        raise MigrationError(
            f"migration {names} changed after it was applied to {store.path}; restore the original file "
            "(migrations are never edited: add a new one)"
        )
    return [s for s in states if s.state == "pending"]


def require_current(store: Store, directory: Path = MIGRATIONS_DIR) -> None:
    """Refuse a store with pending migrations."""
    pending = check(store, directory)
    if pending:
        raise MigrationError(
            f"store {store.path} needs {len(pending)} migration(s) ({pending[0].name} first); run `vigil migrate`"
        )


def apply(store: Store, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; return their names."""
    pending = {s.number for s in check(store, directory)}
    done = []
    for migration in discover(directory):
        if migration.number not in pending:
            continue
        try:
            with store.transaction():
                store.execute_script(migration.sql)
                store.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                    [migration.number, migration.name, migration.checksum, utc_now()],
                )
        except MigrationError:
            raise
        except Exception as e:
            raise MigrationError(f"migration {migration.name} failed and was rolled back: {e}") from e
        done.append(migration.name)
    if done and store.anchors is not None:
        store.anchors.start(store)  # an upgraded home's audit head is anchored from now on
    return done


def _applied(store: Store) -> dict[int, tuple[str, str, datetime]]:
    if not store.read_only:
        store.execute_script(_LEDGER)
    if not store.has_table("schema_migrations"):
        return {}
    rows = store.execute("SELECT version, name, checksum, applied_at FROM schema_migrations")
    return {number: (name, checksum, at) for number, name, checksum, at in rows}
