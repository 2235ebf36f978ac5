"""Each command is declared once: its handler, role, documentation, parser, role check and admin dispatch
all come from that one declaration, and a command without a handler is an error, never another command."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from appliance import operations
from appliance.access import roles
from appliance.cli.parser import DECLARED, build_parser, command_tree
from appliance.errors import InvalidRequest
from appliance.operations import registry
from appliance.operations.declaration import Cli, LocalCommand, OperationSpec, arg, opt, resolve

ROOT = Path(__file__).resolve().parents[3]


def test_every_declared_command_has_a_handler_a_role_and_a_section_in_the_reference() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text()
    with_cli = [(name, found) for name, found in operations.COMMANDS.items() if found.cli is not None]
    assert len(with_cli) > 70
    for name, found in operations.COMMANDS.items():
        assert found.role in roles.ROLES, name
        assert operations.required_role(name) == found.role, name
        if found.cli is None:
            assert isinstance(found, OperationSpec), name  # admin API only
            continue
        assert bool(found.cli.handler) != bool(found.cli.show), name  # exactly one way to run it
        assert callable(resolve("appliance.cli", found.cli.handler or found.cli.show)), name
        assert isinstance(found, OperationSpec) or found.cli.handler, name  # a local command runs itself
        assert f"## `vigil {found.cli.command}`" in reference, name
        assert 1 <= len(found.cli.words) <= 2, name


def test_every_command_word_is_declared_once_and_every_group_has_help() -> None:
    commands = [found.cli.command for found in operations.COMMANDS.values() if found.cli is not None]
    assert len(commands) == len(set(commands))
    for word, node in command_tree().items():
        assert node.own is not None or operations.GROUPS.get(word), word


def test_every_option_fills_a_field_of_its_model_or_is_the_command_lines_own() -> None:
    """An option named like no field of the model is never sent: the declared ones are all CLI-only on purpose."""
    cli_only = {"card", "out", "format", "reference", "current", "columns", "file"}
    for name, found in operations.OPERATIONS.items():
        if found.cli is None or found.cli.handler:
            continue
        fields = set(found.args.model_fields)
        for option in found.cli.options:
            assert option.field in fields or option.field in cli_only, (name, option.field)


def test_an_undeclared_operation_needs_admin() -> None:
    assert operations.required_role("no_such_operation") == "admin"
    needed = operations.required_role("no_such_operation")
    assert not roles.allows("approver", needed) and roles.allows("admin", needed)


def test_help_reads_the_declarations_without_importing_models_or_the_store() -> None:
    probe = ("import sys\nfrom appliance.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = {'pydantic', 'duckdb', 'numpy'}\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip() == "[]"
    assert "dashboard" in done.stdout and "datasheet" in done.stdout


def test_the_complete_parser_holds_every_declared_command() -> None:
    parser = build_parser(complete=True)
    args = parser.parse_args(["alerts", "mute", "drift", "--for", "2h", "--reason", "noisy"])
    assert (getattr(args, DECLARED), args.duration, args.model) == ("alert_mute", "2h", None)
    assert getattr(parser.parse_args(["alerts", "--all"]), DECLARED) == "alerts"
    assert getattr(parser.parse_args(["code", "hash", "--spec", "s.toml"]), DECLARED) == "code_hash"


# A toy command, declared once -----------------------------------------------------------------------------------

def _echo(ctx: Any, a: dict[str, Any]) -> Any:
    return {"name": a["name"], "version": a["version"], "actor": a["actor"]}


def _show_echo(result: Any, args: argparse.Namespace) -> int:
    print(json.dumps(result) if args.json else f"echo {result['name']} v{result['version']}")
    return 3  # the show function's exit code is the command's


TOY = OperationSpec(_echo, writes=False, args_model="registry.ModelVersion", role="approver", cli=Cli(
    "toy-echo", "echo a model version", (arg("name"), opt("version", "which version")), show="toy_commands.show_echo"))


@pytest.fixture
def declare(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Any], None]]:
    """Add declarations to the registry domain's table, as a new command would be, and rebuild the tables."""
    renderers = types.ModuleType("appliance.cli.toy_commands")
    renderers.show_echo = _show_echo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "appliance.cli.toy_commands", renderers)

    def add(name: str, declaration: Any) -> None:
        monkeypatch.setitem(registry.COMMANDS, name, declaration)
        importlib.reload(operations)

    yield add
    monkeypatch.undo()
    importlib.reload(operations)


def test_one_declaration_makes_the_parser_the_role_check_the_dispatch_and_the_docs(
        declare: Callable[[str, Any], None], home: Path, cli: Callable[..., Any]) -> None:
    declare("toy_echo", TOY)
    parsed = build_parser().parse_args(["toy-echo", "delay", "--version", "3"])
    assert (getattr(parsed, DECLARED), parsed.name, parsed.version, parsed.json) == ("toy_echo", "delay", 3, False)
    assert operations.required_role("toy_echo") == "approver"
    assert not roles.allows("operator", operations.required_role("toy_echo"))
    assert operations.find("toy_echo") is TOY
    with pytest.raises(InvalidRequest):  # the admin API's check: the declared model
        operations.arguments("toy_echo", {"name": "delay", "version": "3"}, _identity())
    generator = _docs_generator()
    assert "## `vigil toy-echo`" in generator.cli_reference() and "- `--version`: which version" in \
        generator.cli_reference()
    result = cli("toy-echo", "delay", "--version", "3", "--home", home)  # run in this process, as the OS user
    assert (result.code, result.out) == (3, "echo delay v3\n")
    refused = cli("toy-echo", "delay", "--version", "x", "--home", home)
    assert refused.code == 2 and "invalid int value: 'x'" in refused.err


def test_a_command_without_its_handler_is_an_error_never_another_command(
        declare: Callable[[str, Any], None], home: Path, cli: Callable[..., Any]) -> None:
    declare("toy_lost", OperationSpec(_echo, writes=False, args_model="registry.ModelVersion", role="viewer",
                                      cli=Cli("toy-lost", "lost", (arg("name"), arg("version")),
                                              show="toy_commands.show_nothing")))
    declare("toy_local", LocalCommand("viewer", Cli("toy-local", "no handler")))
    for argv in (["toy-lost", "delay", "1"], ["toy-local"]):
        result = cli(*argv, "--home", home)
        assert result.code == 2 and result.out == "" and len(result.err.splitlines()) == 1, result
        assert "vigil: error:" in result.err and "handler" in result.err and "Traceback" not in result.err


def test_bare_vigil_and_an_unknown_command_are_usage_errors(cli: Callable[..., Any]) -> None:
    bare = cli()
    assert bare.code == 2 and bare.err.strip() == (
        "vigil: error: the following arguments are required: COMMAND (see `vigil --help`)")
    unknown = cli("frobnicate")
    assert unknown.code == 2 and "invalid choice: 'frobnicate'" in unknown.err and unknown.out == ""


def _identity() -> Any:
    from appliance.access.users import Identity

    return Identity("tester", "admin", "os-user")


def _docs_generator() -> Any:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
