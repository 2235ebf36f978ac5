"""Every SQL statement on the public keys this box trusts, as named functions with bound parameters.

A key is listed once by name and by key id; distrusting it keeps the row with the time it was revoked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def listed_count(store: Store, name: str, key_id: str) -> int:
    """How many keys, trusted or revoked, have this name or this key id."""
    return int(store.scalar("SELECT count(*) FROM trusted_keys WHERE name = ? OR key_id = ?", [name, key_id]))


def insert(store: Store, name: str, key_id: str, public_key: str, actor: str, at: datetime) -> None:
    store.execute("INSERT INTO trusted_keys VALUES (?, ?, ?, ?, ?, NULL)", [name, key_id, public_key, actor, at])


def active_by_name(store: Store, name: str) -> dict[str, Any] | None:
    return store.row("SELECT key_id FROM trusted_keys WHERE name = ? AND revoked_at IS NULL", [name])


def revoke(store: Store, name: str, at: datetime) -> None:
    store.execute("UPDATE trusted_keys SET revoked_at = ? WHERE name = ?", [at, name])


def active_by_key_id(store: Store, key_id: str) -> dict[str, Any] | None:
    return store.row("SELECT name, key_id, public_key FROM trusted_keys WHERE key_id = ? AND revoked_at IS NULL",
                     [key_id])


def all_keys(store: Store) -> list[dict[str, Any]]:
    """Every key ever listed, trusted or revoked, by name."""
    return store.rows("SELECT name, key_id, public_key, added_by, added_at, revoked_at FROM trusted_keys ORDER BY name")
