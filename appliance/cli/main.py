"""`vigil`: run the declared command parsed, and the one place that turns Vigil's errors into exit code 2.

The parser is built from the command declarations (appliance/cli/parser.py). An operation's command
sends the arguments its model declares to the operation (in this process, or through the daemon)
and prints the result with its `show` function; a command with a `handler` runs it instead. A
command with neither is an error, never another command.

Only argparse is imported up front; each command imports what it needs when it runs, so
`vigil --help` and `vigil models` start fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from appliance.cli.parser import DECLARED, build_parser
from appliance.operations.declaration import OperationSpec, resolve

__all__ = ["build_parser", "main", "run_command"]


def main(argv: Sequence[str] | None = None) -> int:
    from appliance.home import private_umask

    private_umask()  # whatever Vigil writes (homes, exports, reports, tokens) is the user's alone
    args = build_parser().parse_args(argv)
    from appliance.cli import colour
    from appliance.errors import VigilError

    colour.switch_off(bool(getattr(args, "no_color", False)))

    try:
        return run_command(args)
    except VigilError as e:
        sys.stderr.write(f"vigil: error: {_one_line(str(e))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("vigil: interrupted\n")
        return 130


def run_command(args: argparse.Namespace) -> int:
    """Run the command `args` was parsed for, as its declaration says."""
    from appliance.errors import UnknownCommand
    from appliance.operations import declared

    name = getattr(args, DECLARED, None)
    found = declared(name) if name else None
    if found is None or found.cli is None:
        raise UnknownCommand(f"no command is declared for '{getattr(args, 'command', name)}' (see `vigil --help`)")
    cli = found.cli
    if cli.handler:
        return int(_function(cli.handler, cli.command)(args))
    if not cli.show or not isinstance(found, OperationSpec):
        raise UnknownCommand(f"'vigil {cli.command}' declares no handler")
    from appliance.cli.progress import call

    result = call(args.home, name or "", payload(found, args), label=f"vigil {cli.command}")
    return int(_function(cli.show, cli.command)(result, args))


def payload(found: OperationSpec, args: argparse.Namespace) -> dict[str, Any]:
    """The operation's arguments from the parsed command line: each option its model has, file paths made
    absolute (the daemon does not share this process's working directory)."""
    from appliance.operation_args.types import is_file_path

    assert found.cli is not None
    fields = found.args.model_fields
    sent: dict[str, Any] = {}
    for option in found.cli.options:
        info = fields.get(option.field)
        if info is None:
            continue
        value = getattr(args, option.field)
        sent[option.field] = str(Path(value).resolve()) if value is not None and is_file_path(info) else value
    return sent


def _function(dotted: str, command: str) -> Callable[..., Any]:
    """The function "module.function" under appliance.cli, or UnknownCommand naming the command."""
    from appliance.errors import UnknownCommand

    module = f"appliance.cli.{dotted.rpartition('.')[0]}"
    try:
        found = resolve("appliance.cli", dotted)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        raise UnknownCommand(f"'vigil {command}' has no handler ({dotted} is missing)") from None
    except AttributeError:
        raise UnknownCommand(f"'vigil {command}' has no handler ({dotted} is missing)") from None
    if not callable(found):
        raise UnknownCommand(f"'vigil {command}' has no handler ({dotted} is not a function)")
    return found


def _one_line(message: str) -> str:
    """The message on one line, control characters shown escaped: a message may quote a file's or a
    client's text, and raw, an escape sequence in it would drive the terminal."""
    from appliance.cli.output import printable

    return " ".join(printable(message, keep_space=True).split())


if __name__ == "__main__":
    raise SystemExit(main())
