"""The job scheduler knows the daemon only through its host protocol (appliance/jobs/host.py): nothing
under appliance/jobs/ imports appliance.daemon, not even for type checking, and nothing it imports does,
so the daemon and the jobs never form an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "appliance" / "jobs"


def _imported(source: str) -> set[str]:
    """Every module an import names anywhere in the source (at the top, in a function, under TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return {name for name in found if name.split(".")[0] == "appliance"}


def _file(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _daemon_imports(start: list[str]) -> dict[str, set[str]]:
    """The modules reached from `start` by imports that import appliance.daemon, with what they import."""
    seen: dict[str, set[str]] = {}
    todo = list(start)
    while todo:
        module = todo.pop()
        path = _file(module)
        if path is None or module in seen:
            continue
        seen[module] = _imported(path.read_text())
        todo.extend(seen[module])
    return {module: {name for name in names if name.startswith("appliance.daemon")}
            for module, names in seen.items() if any(name.startswith("appliance.daemon") for name in names)}


def test_the_jobs_never_import_the_daemon() -> None:
    offenders = {path.name: sorted(name for name in _imported(path.read_text()) if name.startswith("appliance.daemon"))
                 for path in sorted(JOBS.glob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_nothing_the_jobs_import_imports_the_daemon() -> None:
    modules = [f"appliance.jobs.{path.stem}" for path in sorted(JOBS.glob("*.py"))]
    assert _daemon_imports(modules) == {}


def test_the_check_would_see_a_type_checking_import() -> None:
    sneaky = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from appliance.daemon.service import Service\n"
    assert "appliance.daemon.service" in _imported(sneaky)
    assert _daemon_imports(["appliance.daemon.runtime"])  # the daemon itself does, and is seen
