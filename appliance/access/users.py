"""Users, their tokens and who a caller is.

Identity: a user's token (API callers, `VIGIL_TOKEN` for the CLI), or — for a process on the box
that opens the store itself, or that calls the daemon with the home's admin token — the OS account
of its uid (`core/identity.py`; through the daemon, from the kernel's socket tables, `peer.py`), never
an environment variable or a request header. An admin-token caller whose account the daemon cannot
see is the fixed identity `admin-token` (admin). Role: the user's row. While no user has been
added, everyone is admin (a fresh install must be usable); once users exist, an OS account without
a row is a viewer. A revoked name can be issued again: the new row gets a new token, the revoked
row stays for the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from appliance.access.roles import ROLES, allows
from appliance.clock import utc_now
from appliance.errors import AccessError, Forbidden, Unauthorized
from appliance.store import registry_queries as q
from appliance.store import user_queries as uq
from appliance.store.connection import Store


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: str
    how: str  # 'token', 'os-user', 'bootstrap' or 'admin-token'


ADMIN_TOKEN = Identity("admin-token", "admin", "admin-token")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_token(store: Store, token: str) -> Identity:
    row = uq.active_by_token(store, _sha(token))
    if row is None:
        raise Unauthorized("unknown or revoked user token")
    return Identity(row["name"], row["role"], "token")


def by_os_user(store: Store, name: str) -> Identity:
    if uq.active_count(store) == 0:
        return Identity(name, "admin", "bootstrap")
    row = uq.active_by_name(store, name)
    return Identity(name, row["role"] if row else "viewer", "os-user")


def authorize(store: Store, who: Identity, operation: str, needed: str) -> None:
    """Raise Forbidden (and audit the refusal) unless `who` has the `needed` role to run `operation`
    (`operations.required_role(operation)`, the role its declaration names)."""
    if allows(who.role, needed):
        return
    if not store.read_only:
        with store.transaction():
            q.insert_audit(store, utc_now(), who.name, "access.denied", None, None,
                           {"operation": operation, "role": who.role, "needs": needed, "identity": who.how},
                           subject=f"operation:{operation}", reason=f"{who.role} role; needs {needed}")
    raise Forbidden(f"{who.name} ({who.role}) may not run '{operation}'; it needs the {needed} role "
                    "(an admin can grant it: vigil users add NAME --role ROLE)")


def add_user(store: Store, name: str, role: str, actor: str) -> dict[str, Any]:
    """Issue a token to `name`; refused while `name` has an active token, allowed again once revoked."""
    if role not in ROLES:
        raise AccessError(f"role '{role}' is not one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise AccessError("a user name is 1-64 letters, digits, '.', '_' or '-'")
    if reserved(name):
        raise AccessError(f"'{name}' is a name Vigil itself acts under in the audit log (vigil, vigil-*, "
                            "admin-token, uid-*); choose another name")
    token = "vgu_" + secrets.token_urlsafe(32)
    with store.transaction():
        if uq.active_by_name(store, name) is not None:
            raise AccessError(f"user '{name}' exists; revoke it first to issue a new token")
        revoked_before = uq.revoked_count(store, name)
        at = utc_now()
        uq.insert(store, name, role, _sha(token), actor, at)
        q.insert_audit(store, at, actor, "user.add", None, None,
                       {"user": name, "role": role, "revoked_before": revoked_before},
                       subject=f"user:{name}", before=None, after={"role": role})
    return {"name": name, "role": role, "token": token}


def reserved(name: str) -> bool:
    """Names the audit log uses for Vigil's own decisions and for callers it cannot name: no person gets one."""
    lowered = name.lower()
    return lowered in ("vigil", "admin-token") or lowered.startswith(("vigil-", "uid-"))


def revoke_user(store: Store, name: str, actor: str) -> dict[str, Any]:
    with store.transaction():
        found = uq.active_by_name(store, name)
        if found is None:
            raise AccessError(f"no active user '{name}'")
        at = utc_now()
        uq.revoke(store, name, at)
        q.insert_audit(store, at, actor, "user.revoke", None, None, {"user": name, "role": found["role"]},
                       subject=f"user:{name}", before={"role": found["role"]}, after=None)
    return {"name": name, "revoked": True}


def identify(store: Store, token: str | None, os_user: str | None) -> Identity:
    """A user token wins; without one, the OS account; with neither (an admin-token caller whose
    account is unknown), the fixed `admin-token` identity."""
    if token:
        return by_token(store, token)
    return by_os_user(store, os_user) if os_user is not None else ADMIN_TOKEN


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every token issued, revoked ones included (a reissued name has one row per issue)."""
    return uq.all_users(store)
