"""Roles and the least role each operation needs.

Roles are ordered, each including the ones before it: viewer (read everything), operator (run
checks, acknowledge and resolve incidents, mute alerts, train, retrain, promote, roll back, export to the lake),
approver (approve and reject promotion requests, place audit holds), admin (users, API keys,
contracts, policy, releasing holds, running retention by hand, trusted imports of files that run
code when loaded, trusting a team's code).
Each command declares its least role (appliance/operations/); a name no command declares needs
admin, so nothing undeclared is ever open.
"""

from __future__ import annotations

ROLES = ("viewer", "operator", "approver", "admin")


def required_role(operation: str) -> str:
    """The least role that may run `operation`, as its declaration says."""
    from appliance.operations import declared  # the declarations import nothing from access/

    found = declared(operation)
    return found.role if found is not None else "admin"


def allows(role: str, operation: str) -> bool:
    return ROLES.index(role) >= ROLES.index(required_role(operation))
