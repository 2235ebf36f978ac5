"""Every alias change passes through the release package: nothing else can write an alias."""

from __future__ import annotations

import ast
import re
from pathlib import Path

APPLIANCE = Path(__file__).resolve().parents[2] / "appliance"
ROOT = APPLIANCE.parent
WRITES_ALIASES = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(aliases|deployments)\b", re.IGNORECASE)


def _modules_imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def _python_files() -> list[Path]:
    return [p for folder in ("appliance", "tui") for p in (ROOT / folder).rglob("*.py")]


def test_only_the_release_package_reaches_the_alias_writers() -> None:
    door = APPLIANCE / "release"
    offenders = [p.relative_to(ROOT).as_posix() for p in _python_files()
                 if door not in p.parents and {"appliance.release.moves", "appliance.store.release_queries"}
                 & _modules_imported(p)]
    assert offenders == []


def test_no_statement_outside_the_release_queries_writes_an_alias_or_a_deployment() -> None:
    allowed = APPLIANCE / "store" / "release_queries.py"
    offenders = []
    for path in _python_files():
        if path == allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITES_ALIASES.search(node.value):
                offenders.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    assert offenders == []


def test_the_check_would_see_an_offender(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text('from appliance.release import moves\nSQL = "update aliases set version = 3"\n')
    assert "appliance.release.moves" in _modules_imported(sneaky)
    assert WRITES_ALIASES.search('update aliases set version = 3')
