"""Facts recorded with every version: environment, spec repository commit, estimator, hyperparameters.

The creator is the OS account (`core/identity.py`) or the identified user."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("vigil", "scikit-learn", "numpy", "scipy", "polars", "duckdb", "skops", "pydantic")


def environment() -> dict[str, Any]:
    """Python, platform and the versions of the packages a model's behaviour depends on."""
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def git_commit(path: Path | None) -> tuple[str | None, bool | None]:
    """HEAD of the git repository holding `path`, and whether that file differs from HEAD."""
    if path is None:
        return None, None
    folder = str(path.parent)
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--", path.name],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head.stdout.strip(), bool(dirty.stdout.strip())


def hyperparameters(estimator: Any) -> dict[str, Any]:
    """The estimator's own parameters, as JSON-safe values."""
    params = estimator.get_params(deep=False)
    return {key: _json_safe(value) for key, value in sorted(params.items())}


def estimator_name(model: Any) -> str:
    reported = getattr(type(model), "reported_estimator", None)  # a model running in a code process says
    if reported is not None:
        return str(model.reported_estimator)
    final = final_estimator(model)
    return f"{type(final).__module__}.{type(final).__qualname__}"


def final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
