"""The dependency rules of the code base, checked on its imports."""

from __future__ import annotations

import ast
from pathlib import Path

APPLIANCE = Path(__file__).resolve().parents[2] / "appliance"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_store_imports_duckdb() -> None:
    offenders = [p.relative_to(APPLIANCE).as_posix() for p in APPLIANCE.rglob("*.py")
                 if "duckdb" in _imports(p) and p.parent.name != "store"]
    assert offenders == []


def test_appliance_never_imports_textual_and_the_domain_never_imports_waitress() -> None:
    for path in APPLIANCE.rglob("*.py"):
        imported = _imports(path)
        assert "textual" not in imported, path
        if path.parent.name in ("registry", "training", "contracts", "store"):
            assert "waitress" not in imported, path


def test_the_console_reaches_vigil_only_through_operations() -> None:
    """tui/ never touches DuckDB, waitress or the store modules: it calls operations (the admin API)."""
    console = APPLIANCE.parent / "tui"
    for path in console.rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in modules if m.split(".")[0] in ("duckdb", "waitress")}, path
        assert not {m for m in modules if m.startswith("appliance.store")}, path
