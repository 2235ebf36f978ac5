"""How a command is declared, once: what runs, its arguments' model, its least role and its command line.

An `OperationSpec` is an operation: the admin API runs it (`POST /admin/v1/ops/NAME`), the role
check reads its role, and its `Cli` (when it has one) becomes a `vigil` command. A `LocalCommand`
is a command that is no operation (`vigil init`, `up`, `tui`, `demo`, ...): it runs in the CLI's own
process. Argparse, the admin API's dispatch, the role table and docs/cli.md are all built from these.

Models and command-line functions are named by text and imported when first used, so that
`vigil --help` reads every declaration without importing pydantic or any command's code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from appliance.home.context import AppContext
    from appliance.operation_args.types import Args

Operation = Callable[["AppContext", dict[str, Any]], Any]
Role = Literal["viewer", "operator", "approver", "admin"]
NO_ARGS = "types.NoArgs"
UNSET: Any = object()  # an option's default: as the model says
# Where the daemon writes the files a caller names (appliance/access/output_paths.py).
CONFINED = "with the daemon running: under <home>/exports/ or [exports] allowed_dirs"


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line argument filling the field `field` of the command's model: its type, whether it is
    required and its default come from the model unless given here. A field the model lacks is a value
    only the command line uses (`--card`, `--format`); its type is `type` (bool: a switch)."""

    field: str
    flag: str = ""  # "--to"; empty: a positional argument
    help: str | None = None
    metavar: str | None = None
    required: bool | None = None
    default: Any = UNSET
    choices: tuple[str, ...] | None = None
    type: type | None = None
    nargs: str | None = None


def arg(name: str, help: str | None = None, **kw: Any) -> Option:
    """A positional argument filling the model's field `name`."""
    return Option(name, help=help, **kw)


def opt(name: str, help: str | None = None, *, flag: str = "", **kw: Any) -> Option:
    """An option (`--name-with-dashes` unless `flag` says otherwise) filling the model's field `name`."""
    return Option(name, flag=flag or "--" + name.replace("_", "-"), help=help, **kw)


@dataclass(frozen=True, slots=True)
class Cli:
    """A command's shape on the command line. `command` is its words ("alerts mute"). `show` prints the
    operation's result and returns the exit code (`show(result, args)`); `handler` instead runs the whole
    command (`handler(args)`), for a command that does more than call its operation. Both name a function
    as "module.function" under `appliance.cli`."""

    command: str
    help: str
    options: tuple[Option, ...] = ()
    show: str = ""
    handler: str = ""
    home: bool = True  # takes --home
    json: bool = True  # takes --json
    one_of: tuple[str, ...] = ()  # options of which exactly one must be given

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.command.split())


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation: the function that runs it, whether it writes the store or changes what is served,
    its arguments' model (`args_model`, "module.Model" under `appliance.operation_args`), the least role
    that may run it, and its command line (None: admin API only)."""

    run: Operation
    writes: bool
    changes_routes: bool = False
    read_only_ok: bool = False  # writes only incidentally (housekeeping) and also runs on a read-only store
    in_daemon: str | None = None  # what the daemon does beyond running it: a kind in daemon/service.py's tables
    store_to_itself: bool = False  # needs the store to itself: the daemon refuses it (run it with the daemon stopped)
    args_model: str = field(kw_only=True)
    role: Role = field(kw_only=True)
    cli: Cli | None = field(default=None, kw_only=True)

    @property
    def args(self) -> type[Args]:
        """The model its arguments must satisfy (also the admin API's request body)."""
        found = resolve("appliance.operation_args", self.args_model)
        assert isinstance(found, type)
        return found


@dataclass(frozen=True, slots=True)
class LocalCommand:
    """A command that is no operation: its handler runs in the CLI's process on the home's files. `role`
    is the least role it takes where it meets a store with users (`vigil restore` over a home)."""

    role: Role
    cli: Cli


Declared = OperationSpec | LocalCommand


def resolve(package: str, dotted: str) -> Any:
    """The object named "module.name" under `package`, imported now."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(f"{package}.{module}"), name)
