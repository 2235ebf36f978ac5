"""Every command, declared once, and the operations among them: named actions with JSON arguments and a
JSON result.

The CLI runs an operation in-process when no daemon runs, and through the daemon's admin API
(`POST /admin/v1/ops/NAME`) when one does; the same code answers both ways. Each domain module
(`registry`, `training`, `monitoring`, `alerts`, `administration`, `bundles`, `home`) declares its
commands in `COMMANDS`; the command line (appliance/cli/parser.py), the admin API's dispatch (here),
the role check (`required_role`, below) and docs/cli.md are built from those declarations.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from appliance.errors import OperationError
from appliance.operations import administration, alerts, bundles, home, monitoring, registry, training
from appliance.operations.declaration import Cli, Declared, LocalCommand, Operation, OperationSpec, Option

if TYPE_CHECKING:
    from appliance.access.users import Identity
    from appliance.home.context import AppContext

__all__ = ["COMMANDS", "GROUPS", "OPERATIONS", "Checked", "Cli", "Declared", "LocalCommand", "Operation",
           "NOT_IN_DAEMON", "OperationSpec", "Option", "arguments", "declared", "find", "required_role", "run", "run_as"]

_DOMAINS = (home, registry, training, monitoring, alerts, administration, bundles)


def _merged(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """One table from the domains' tables; a name declared twice is a mistake caught at import."""
    merged: dict[str, Any] = {}
    for table in tables:
        twice = merged.keys() & table.keys()
        if twice:
            raise RuntimeError(f"declared twice: {', '.join(sorted(twice))}")
        merged.update(table)
    return merged


COMMANDS: dict[str, Declared] = _merged([domain.COMMANDS for domain in _DOMAINS])
GROUPS: dict[str, str] = _merged([domain.GROUPS for domain in _DOMAINS])  # help of commands with verbs
OPERATIONS: dict[str, OperationSpec] = {name: found for name, found in COMMANDS.items()
                                        if isinstance(found, OperationSpec)}
NOT_IN_DAEMON = {name for name, spec in OPERATIONS.items() if spec.store_to_itself}  # refused by the daemon


def declared(name: str) -> Declared | None:
    """The declaration of the command or operation `name`, if there is one."""
    return COMMANDS.get(name)


def required_role(name: str) -> str:
    """The least role that may run `name`, as its declaration says; admin for a name nothing declares."""
    found = declared(name)
    return found.role if found is not None else "admin"


def find(name: str) -> OperationSpec:
    found = OPERATIONS.get(name)
    if found is None:
        raise OperationError(f"unknown operation '{name}'")
    return found


def run_as(ctx: AppContext, name: str, args: dict[str, Any], token: str | None, os_user: str) -> Any:
    """Identify the caller, check their role (a refusal is audited), then run the operation as them:
    the recorded actor is the identified caller, whatever the arguments say."""
    from appliance.access.users import authorize, identify

    find(name)
    who = identify(ctx.store, token, os_user)
    authorize(ctx.store, who, name, required_role(name))
    return run(ctx, name, arguments(name, args, who))


class Checked(dict[str, Any]):
    """Arguments made by `arguments`: checked against the operation's model, with the caller's identity."""


def arguments(name: str, args: dict[str, Any], who: Identity) -> Checked:
    """A client's arguments checked against the operation's model (InvalidRequest naming each bad field),
    defaults filled in, and the caller's identity added: `actor` is `who`, whatever the client sent."""
    from appliance.operation_args import validate

    checked = validate(name, find(name).args, args)
    return Checked({**checked, "actor": who.name, "caller_role": who.role, "caller_identity": who.how})


def run(ctx: AppContext, name: str, args: Checked) -> Any:
    """Run an operation on arguments made by `arguments` (no other dict is taken, so no caller skips the
    check) and return its result as plain JSON values (what the API would send), or as RawJSON text when
    the operation encoded it already (the daemon's console)."""
    from appliance.jsonable import plain
    from appliance.raw_json import RawJSON

    if not isinstance(args, Checked):
        raise TypeError(f"operations.run('{name}') takes arguments made by operations.arguments")
    result = find(name).run(ctx, args)
    return result if isinstance(result, RawJSON) else json.loads(json.dumps(result, default=plain))
