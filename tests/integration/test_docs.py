"""Generated reference docs match the code, and the README's commands are the ones CI runs."""

from __future__ import annotations

import importlib.util
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
