"""Every SQL statement on trusted code archives, as named functions with bound parameters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def active(store: Store, sha256: str) -> dict[str, Any] | None:
    """The trust row of an archive, if it is trusted and not revoked."""
    return store.row("SELECT sha256, trusted_by, trusted_at, reason FROM trusted_code "
                     "WHERE sha256 = ? AND revoked_at IS NULL", [sha256])


def insert(store: Store, sha256: str, modules: list[str], files: list[dict[str, Any]], actor: str, at: datetime,
           reason: str) -> None:
    store.execute("INSERT INTO trusted_code (sha256, modules, files, trusted_by, trusted_at, reason) "
                  "VALUES (?, ?, ?, ?, ?, ?)", [sha256, modules, json.dumps(files), actor, at, reason])


def retrust(store: Store, sha256: str, actor: str, at: datetime, reason: str) -> None:
    """Trust a revoked archive again (its row keeps the newest trust)."""
    store.execute("UPDATE trusted_code SET trusted_by = ?, trusted_at = ?, reason = ?, revoked_by = NULL, "
                  "revoked_at = NULL WHERE sha256 = ?", [actor, at, reason, sha256])


def known(store: Store, sha256: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM trusted_code WHERE sha256 = ?", [sha256]))


def revoke(store: Store, sha256: str, actor: str, at: datetime) -> int:
    found = int(store.scalar("SELECT count(*) FROM trusted_code WHERE sha256 = ? AND revoked_at IS NULL", [sha256]))
    store.execute("UPDATE trusted_code SET revoked_by = ?, revoked_at = ? WHERE sha256 = ? AND revoked_at IS NULL",
                  [actor, at, sha256])
    return found


def listing(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT sha256, modules, files, trusted_by, trusted_at, reason, revoked_by, revoked_at "
                      "FROM trusted_code ORDER BY trusted_at")


def served_with(store: Store, sha256: str) -> list[dict[str, Any]]:
    """Aliases that point at a version whose model ships this code archive."""
    return store.rows("SELECT a.model_name, a.alias, a.version FROM aliases a JOIN model_versions v "
                      "ON v.model_name = a.model_name AND v.version = a.version "
                      "WHERE json_extract_string(v.imported_from, '$.code.sha256') = ? ORDER BY 1, 2", [sha256])


def models_with(store: Store, sha256: str) -> list[str]:
    return [r[0] for r in store.execute("SELECT DISTINCT model_name FROM model_versions "
                                        "WHERE json_extract_string(imported_from, '$.code.sha256') = ? ORDER BY 1", [sha256])]
