"""The one admin client: the CLI, the console and the demo decide "daemon if running, else local" there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from appliance.admin_client import AdminClient
from appliance.home import Home
from appliance.home.initialise import initialise
from tui.connection import Connection, ReadOnlyView

ROOT = Path(__file__).resolve().parents[2]
CALLERS = [ROOT / "appliance" / "cli", ROOT / "tui", ROOT / "appliance" / "demo"]


def _imported(path: Path) -> set[str]:
    """Every `module` and `module.name` a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_cli_the_console_and_the_demo_find_the_daemon_only_through_the_admin_client() -> None:
    for folder in CALLERS:
        for path in folder.rglob("*.py"):
            imported = _imported(path)
            assert not {m for m in imported if m.startswith("appliance.daemon.discovery.reach")}, path
            assert not {m for m in imported if m.startswith("appliance.admin_client.remote")}, path


def test_the_demo_never_imports_the_cli() -> None:
    for path in (ROOT / "appliance" / "demo").rglob("*.py"):
        assert not {m for m in _imported(path) if m.startswith("appliance.cli")}, path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """An initialised home, no daemon, and a caller with no token (the OS account)."""
    for variable in ("VIGIL_URL", "VIGIL_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    home = Home(tmp_path / "home")
    initialise(home)
    return home


def test_without_a_daemon_a_call_runs_in_this_process_and_may_write(home: Home) -> None:
    client = AdminClient(home)
    client.call("user_add", {"name": "ann", "role": "viewer"})
    assert [user["name"] for user in client.call("user_list")["users"]] == ["ann"]


def test_without_a_daemon_the_console_reads_the_store_and_refuses_a_change(home: Home) -> None:
    console = Connection(home)
    assert console.state.mode == "down"
    assert console.call("models") == []
    assert console.state.mode == "read-only"
    with pytest.raises(ReadOnlyView, match="'user_add' changes the store"):
        console.call("user_add", {"name": "ann", "role": "viewer"})
    assert console.call("user_list")["users"] == []
