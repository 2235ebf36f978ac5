"""Every SQL statement on users, as named functions with bound parameters.

A user row is one issued token: a name can have several rows over time (each revoked one kept for
the audit trail) but at most one active row, which `add_user` checks inside its transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def active_count(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM users WHERE revoked_at IS NULL"))


def active_by_token(store: Store, token_sha256: str) -> dict[str, Any] | None:
    return store.row("SELECT name, role FROM users WHERE token_sha256 = ? AND revoked_at IS NULL", [token_sha256])


def active_by_name(store: Store, name: str) -> dict[str, Any] | None:
    return store.row("SELECT name, role, created_at FROM users WHERE name = ? AND revoked_at IS NULL", [name])


def revoked_count(store: Store, name: str) -> int:
    """How many earlier tokens of `name` were revoked."""
    return int(store.scalar("SELECT count(*) FROM users WHERE name = ? AND revoked_at IS NOT NULL", [name]))


def insert(store: Store, name: str, role: str, token_sha256: str, actor: str, at: datetime) -> None:
    store.execute("INSERT INTO users (name, role, token_sha256, created_by, created_at, revoked_at) "
                  "VALUES (?, ?, ?, ?, ?, NULL)", [name, role, token_sha256, actor, at])


def revoke(store: Store, name: str, at: datetime) -> None:
    """Revoke the active token of `name`; revoked rows keep the time they were revoked."""
    store.execute("UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", [at, name])


def all_users(store: Store) -> list[dict[str, Any]]:
    """Every token ever issued, active or revoked, oldest first within a name."""
    return store.rows("SELECT name, role, created_by, created_at, revoked_at FROM users ORDER BY name, created_at")
