"""Generated reference docs match the code, and the README's commands are the ones CI runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_current() -> None:
    generator = _generator()
    for name, render in generator.OUTPUTS.items():
        assert (ROOT / "docs" / name).read_text() == render(), f"run `python docs/generate.py` ({name})"


def test_every_command_is_documented() -> None:
    cli = (ROOT / "docs" / "cli.md").read_text()
    for command in ("init", "migrate", "train", "import", "models", "versions", "show", "reproduce", "sql",
                    "promote", "contract export", "contract apply", "contract check", "demo", "up",
                    "api-keys add", "api-keys list", "api-keys revoke", "drift", "outcomes", "quality", "system"):
        assert f"## `vigil {command}`" in cli


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == commands[1]


def _missing_paths(text: str) -> list[str]:
    """The modules and code folders a document names in backticks that are not in the tree. A name with
    a folder is looked for from the repository and from `appliance/`; a bare file name (`rules.py`, in a
    package's row) anywhere in the code. A folder that is no code's (`artifacts/` of a home) is left."""
    tops = ("appliance", "tui", "migrations")
    missing = []
    for name in sorted(set(re.findall(r"`([\w./]+(?:\.py|\.sql|/))`", text))):
        first = name.split("/")[0]
        if name.endswith("/") and first not in (*tops, "tests") and not (ROOT / "appliance" / first).is_dir():
            continue
        if "/" in name.rstrip("/") or name.endswith("/"):
            found = (ROOT / name).exists() or (ROOT / "appliance" / name).exists()
        else:
            found = any(next(ROOT.joinpath(top).rglob(name), None) for top in tops)
        if not found:
            missing.append(name)
    return missing


def test_the_architecture_names_only_modules_that_exist() -> None:
    assert _missing_paths((ROOT / "docs" / "architecture.md").read_text()) == []


def test_the_path_check_sees_a_module_that_is_gone() -> None:
    assert _missing_paths("`appliance/serving/scoring.py`, `rules.py`, `plans/`, `artifacts/`, `tui/`") == []
    assert _missing_paths("`appliance/batch_scoring.py`, `no_such_module.py`, `appliance/lake/`") == [
        "appliance/batch_scoring.py", "appliance/lake/", "no_such_module.py"]
