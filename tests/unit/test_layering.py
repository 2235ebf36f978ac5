"""The dependency rules of the code base, checked on its imports.

The packages stand in layers, each importing only its own layer and the ones below:
foundation (`core/`, `contracts/`, configuration, errors and the other small leaf modules) < `store/` <
`home/` (the home and the context every command works in) < the domain packages < the operations
(every command declared once) < the doors (daemon, HTTP, CLI, console, demo). Within a layer the
imports between packages form no cycle. Every import statement counts: at the top of a module, inside a
function, or under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLIANCE = ROOT / "appliance"

LAYERS: list[set[str]] = [
    {"core", "contracts", "config", "errors", "clock", "jsonable", "raw_json", "field_errors", "signing",
     "plain_tar", "__version__"},
    {"store"},
    {"home"},
    {"access", "alerts", "artifacts", "boosters", "bundles", "custom_code", "estimation", "jobs", "maintenance",
     "monitoring", "plans", "registry", "release", "reports", "serving", "training"},
    {"operations", "operation_args"},
    {"daemon", "http", "cli", "tui", "demo", "admin_client"},
]
# Imports between packages that still break a rule (an upward import, or one closing a cycle); the list
# may only shrink: an entry no longer imported fails the test, so it goes once its import is gone.
ALLOWED: set[tuple[str, str]] = set()


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
    below_the_doors = set().union(*LAYERS[:-1])  # only daemon/ and http/ (the top layer) serve HTTP
    for path in APPLIANCE.rglob("*.py"):
        imported = _imports(path)
        assert "textual" not in imported, path
        if _package(path) in below_the_doors:
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


def _package(path: Path) -> str:
    """`appliance/<package>/...` or `appliance/<module>.py` names its package; everything under tui/ is `tui`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return "tui" if parts[0] == "tui" else parts[1]


def _targets(node: ast.AST) -> set[str]:
    """The packages an import statement names (`from appliance import x` names `x`)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "appliance" and len(parts) > 1:
            found.add(parts[1])
        elif parts[0] == "tui":
            found.add("tui")
    return found


def _graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where (file:line), over every import statement in every module."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted([*APPLIANCE.rglob("*.py"), *(ROOT / "tui").rglob("*.py")]):
        source = _package(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                assert not (isinstance(node, ast.ImportFrom) and node.level), f"{path}: relative import"
                for target in _targets(node) - {source}:
                    graph[source][target].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph


def _layer(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(f"package {package} is in no layer of tests/unit/test_layering.py: place it")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_every_package_has_a_layer() -> None:
    graph = _graph()
    for package in {*graph, *(target for targets in graph.values() for target in targets)}:
        _layer(package)


def test_no_package_imports_a_higher_layer() -> None:
    upward = [f"{source} -> {target} ({', '.join(where)})" for source, targets in _graph().items()
              for target, where in targets.items()
              if _layer(target) > _layer(source) and (source, target) not in ALLOWED]
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph = _graph()
    edges = {source: set(targets) - {t for s, t in ALLOWED if s == source} for source, targets in graph.items()}
    assert _cycles(edges) == []


def test_every_allowed_exception_is_still_needed() -> None:
    graph = _graph()
    gone = [edge for edge in sorted(ALLOWED) if edge[1] not in graph.get(edge[0], {})]
    assert gone == [], "no longer imported: remove from ALLOWED"


def test_the_checks_see_lazy_and_type_checking_imports() -> None:
    """The graph counts an import inside a function and one under TYPE_CHECKING like any other."""
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from appliance.daemon.service import S\n"
                     "def f():\n    from appliance import operations\n")
    found = set().union(*(_targets(node) for node in ast.walk(tree)))
    assert found == {"daemon", "operations"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
