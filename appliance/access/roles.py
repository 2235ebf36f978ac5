"""Roles and the least role each operation needs.

Roles are ordered, each including the ones before it: viewer (read everything), operator (run
checks, acknowledge and resolve incidents, mute alerts, train, retrain, promote, roll back, export to the lake),
approver (approve and reject promotion requests, place audit holds), admin (users, API keys,
contracts, policy, releasing holds, running retention by hand, trusted imports of files that run
code when loaded, trusting a team's code).
Each command declares its least role (appliance/operations/, `operations.required_role`); a name no
command declares needs admin, so nothing undeclared is ever open. This module knows only the roles
and their order, so it stays below the operations that declare them.
"""

from __future__ import annotations

ROLES = ("viewer", "operator", "approver", "admin")


def allows(role: str, needed: str) -> bool:
    """Whether `role` includes the `needed` role."""
    return ROLES.index(role) >= ROLES.index(needed)
