"""The `vigil` argument parser, built from the command declarations (appliance/operations/).

A command's options come from its declaration: which of its model's fields are positional and which
are options, with their help; their types, whether they are required and their defaults come from
the model. A top-level command's arguments are added only when that command is parsed, so
`vigil --help` reads the declarations' names and help and imports no model.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from appliance.operations.declaration import UNSET, Declared, Option, OperationSpec

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

DECLARED = "declared"  # the parsed namespace's attribute naming the command's declaration
HOME_HELP = "Vigil home (default: $VIGIL_HOME, else ./vigil-home)"
NO_COLOR_HELP = "no colour on a terminal (as NO_COLOR=1 does); piped output never has any"


class Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2, like every other CLI error; arguments added on first use."""

    def __init__(self, *args: Any, fill: Callable[[Parser], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fill = fill

    def filled(self) -> Parser:
        """This parser with its arguments added (once)."""
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)
        return self

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        return super(Parser, self.filled()).parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"vigil: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


@dataclass
class Node:
    """A top-level word: the command it is (if any) and the commands under it (`vigil alerts mute`)."""

    own: tuple[str, Declared] | None = None
    verbs: dict[str, tuple[str, Declared]] = field(default_factory=dict)


def command_tree() -> dict[str, Node]:
    """Every declared command with a command line, by its words, in declaration order."""
    from appliance.operations import COMMANDS

    tree: dict[str, Node] = {}
    for name, found in COMMANDS.items():
        if found.cli is None:
            continue
        words = found.cli.words
        node = tree.setdefault(words[0], Node())
        if len(words) == 1:
            node.own = (name, found)
        else:
            node.verbs[" ".join(words[1:])] = (name, found)
    return tree


def build_parser(complete: bool = False) -> Parser:
    """The parser of every declared command; `complete` adds every command's arguments now (docs, tests)."""
    from appliance.operations import GROUPS

    parser = Parser(prog="vigil", description="Vigil keeps scikit-learn models working after go-live.")
    parser.add_argument("--version", action="version", version="vigil 0.1.0")
    parser.add_argument("--no-color", action="store_true", help=NO_COLOR_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for word, node in command_tree().items():
        help_text = node.own[1].cli.help if node.own and node.own[1].cli else GROUPS[word]
        child = sub.add_parser(word, help=help_text, fill=partial(_fill, node))
        if complete:
            child.filled()
    return parser


def _fill(node: Node, parser: Parser) -> None:
    if node.own is not None:
        _add_command(parser, *node.own)
    if node.verbs:
        verbs = parser.add_subparsers(dest="verb", required=node.own is None, parser_class=Parser)
        for verb, (name, found) in node.verbs.items():
            assert found.cli is not None
            _add_command(verbs.add_parser(verb, help=found.cli.help), name, found)


def _add_command(parser: argparse.ArgumentParser, name: str, found: Declared) -> None:
    cli = found.cli
    assert cli is not None
    fields = found.args.model_fields if isinstance(found, OperationSpec) else {}
    if cli.home:
        parser.add_argument("--home", metavar="DIR", help=HOME_HELP)
    one_of = parser.add_mutually_exclusive_group(required=True) if cli.one_of else None
    for option in cli.options:
        target = one_of if one_of is not None and option.field in cli.one_of else parser
        _add_option(target, option, fields.get(option.field))
    if cli.json:
        parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(**{DECLARED: name})


def _add_option(target: Any, option: Option, info: FieldInfo | None) -> None:
    """One argument: as the option says, else as the model's field says."""
    kind, choices = _kind(option, info)
    required = option.required if option.required is not None else (
        info.is_required() if info is not None else not option.flag)
    kw: dict[str, Any] = {key: value for key, value in (("help", option.help), ("metavar", option.metavar),
                                                        ("choices", option.choices or choices or None)) if value}
    if kind is bool:
        kw["action"] = "store_true"
    elif kind is list:
        kw["nargs"] = "*"
    elif kind in (int, float):
        kw["type"] = kind
    if option.nargs:
        kw["nargs"] = option.nargs
    if not option.flag:
        if not required and "nargs" not in kw:
            kw["nargs"] = "?"
        target.add_argument(option.field, **kw)
        return
    if kind is not bool:
        kw["default"] = option.default if option.default is not UNSET else _model_default(info)
    if required:
        kw["required"] = True
    target.add_argument(option.flag, dest=option.field, **kw)


def _kind(option: Option, info: FieldInfo | None) -> tuple[type, tuple[str, ...]]:
    """The Python type an argument is read as, and the values a Literal field allows."""
    if option.type is not None:
        return option.type, ()
    return _python_type(info.annotation) if info is not None else (str, ())


def _python_type(annotation: Any) -> tuple[type, tuple[str, ...]]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _python_type(next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is typing.Annotated:
        return _python_type(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return str, tuple(str(value) for value in typing.get_args(annotation))
    if origin is list:
        return list, ()
    return (annotation, ()) if isinstance(annotation, type) else (str, ())


def _model_default(info: FieldInfo | None) -> Any:
    return None if info is None or info.is_required() else info.default
