"""Users, their tokens and who a caller is.

Identity: a user's token (API callers, `VIGIL_TOKEN` for the CLI), or — for a process on the box
that can read the home's admin token, or that opens the store itself — the OS user name. Role: the
user's row. While no user has been added, everyone is admin (a fresh install must be usable);
once users exist, an OS user without a row is a viewer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from appliance.access.roles import ROLES, allows, required_role
from appliance.clock import utc_now
from appliance.errors import Forbidden, RegistryError, Unauthorized
from appliance.store import registry_queries as q
from appliance.store.connection import Store


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: str
    how: str  # 'token', 'os-user' or 'bootstrap'


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _active_users(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM users WHERE revoked_at IS NULL"))


def by_token(store: Store, token: str) -> Identity:
    row = store.row("SELECT name, role FROM users WHERE token_sha256 = ? AND revoked_at IS NULL", [_sha(token)])
    if row is None:
        raise Unauthorized("unknown or revoked user token")
    return Identity(row["name"], row["role"], "token")


def by_os_user(store: Store, name: str) -> Identity:
    if _active_users(store) == 0:
        return Identity(name, "admin", "bootstrap")
    row = store.row("SELECT role FROM users WHERE name = ? AND revoked_at IS NULL", [name])
    return Identity(name, row["role"] if row else "viewer", "os-user")


def authorize(store: Store, who: Identity, operation: str) -> None:
    """Raise Forbidden (and audit the refusal) unless `who` may run `operation`."""
    if allows(who.role, operation):
        return
    needed = required_role(operation)
    if not store.read_only:
        with store.transaction():
            q.insert_audit(store, utc_now(), who.name, "access.denied", None, None,
                           {"operation": operation, "role": who.role, "needs": needed, "identity": who.how},
                           subject=f"operation:{operation}", reason=f"{who.role} role; needs {needed}")
    raise Forbidden(f"{who.name} ({who.role}) may not run '{operation}'; it needs the {needed} role "
                    "(an admin can grant it: vigil users add NAME --role ROLE)")


def add_user(store: Store, name: str, role: str, actor: str) -> dict[str, Any]:
    if role not in ROLES:
        raise RegistryError(f"role '{role}' is not one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise RegistryError("a user name is 1-64 letters, digits, '.', '_' or '-'")
    token = "vgu_" + secrets.token_urlsafe(32)
    with store.transaction():
        if store.scalar("SELECT count(*) FROM users WHERE name = ?", [name]):
            raise RegistryError(f"user '{name}' exists; revoke it first to issue a new token")
        at = utc_now()
        store.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL)", [name, role, _sha(token), actor, at])
        q.insert_audit(store, at, actor, "user.add", None, None, {"user": name, "role": role},
                       subject=f"user:{name}", before=None, after={"role": role})
    return {"name": name, "role": role, "token": token}


def revoke_user(store: Store, name: str, actor: str) -> dict[str, Any]:
    with store.transaction():
        found = store.row("SELECT role FROM users WHERE name = ? AND revoked_at IS NULL", [name])
        if found is None:
            raise RegistryError(f"no active user '{name}'")
        at = utc_now()
        store.execute("UPDATE users SET revoked_at = ? WHERE name = ?", [at, name])
        q.insert_audit(store, at, actor, "user.revoke", None, None, {"user": name, "role": found["role"]},
                       subject=f"user:{name}", before={"role": found["role"]}, after=None)
    return {"name": name, "revoked": True}


def identify(store: Store, token: str | None, os_user: str) -> Identity:
    """A user token wins; without one, the OS user."""
    return by_token(store, token) if token else by_os_user(store, os_user)


def list_users(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT name, role, created_by, created_at, revoked_at FROM users ORDER BY name")
