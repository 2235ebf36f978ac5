"""The code files a spec ships (`[code] paths`), as one deterministic archive with one sha256.

A spec may name Python files and package folders next to it:

    [code]
    paths = ["team_features.py", "team_pkg"]

Each is importable by its own name (`team_features`, `team_pkg`) in the process that loads the model.
The archive is a tar with members sorted (`plain_tar.pack`: times, owners and modes fixed), so the same
files always give the same sha256: that is the hash an admin trusts, and the one recorded in the version's lineage.
Only `.py` files are taken (caches and other files are left out); a path that leaves the spec's
folder (absolute, `..`, or a symlink pointing out) is refused.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from appliance.errors import ArtifactError, SpecError
from appliance.plain_tar import pack

MAX_FILES = 200
MAX_BYTES = 5 * 1024 * 1024
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names the code may not take: they would shadow what Vigil or its libraries import.
RESERVED = {"appliance", "tui", "sklearn", "numpy", "scipy", "polars", "skops", "xgboost", "lightgbm", "catboost",
            "pandas", "duckdb", "joblib", "threadpoolctl", "pydantic"}


@dataclass(frozen=True, slots=True)
class CodeBundle:
    """The archive's bytes, its sha256, the top-level module names and each file's own sha256."""

    archive: bytes
    sha256: str
    modules: tuple[str, ...]
    files: tuple[tuple[str, str, int], ...]  # (relative path, sha256, bytes)

    def describe(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "modules": list(self.modules),
                "files": [{"path": p, "sha256": s, "bytes": n} for p, s, n in self.files]}


def collect(base_dir: Path, paths: list[str]) -> CodeBundle:
    """Read the named files and folders under `base_dir` into a bundle (SpecError naming any problem)."""
    base = base_dir.resolve()
    members: dict[str, bytes] = {}
    modules = []
    for named in paths:
        path, module = _checked(base, named)
        modules.append(module)
        for file in _python_files(path):
            relative = file.relative_to(base).as_posix()
            _inside(base, file, relative)
            members[relative] = file.read_bytes()
            if len(members) > MAX_FILES:
                raise SpecError(f"code.paths holds more than {MAX_FILES} Python files; ship only the feature code")
    total = sum(len(data) for data in members.values())
    if total > MAX_BYTES:
        raise SpecError(f"code.paths holds {total} bytes of Python; at most {MAX_BYTES} are accepted")
    if len(set(modules)) != len(modules):
        raise SpecError(f"code.paths names one module twice: {sorted(modules)}")
    archive = pack(sorted(members.items()))
    files = tuple((p, hashlib.sha256(d).hexdigest(), len(d)) for p, d in sorted(members.items()))
    return CodeBundle(archive, hashlib.sha256(archive).hexdigest(), tuple(sorted(modules)), files)


def _checked(base: Path, named: str) -> tuple[Path, str]:
    pure = PurePosixPath(named)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise SpecError(f"code.paths: '{named}' must be a path relative to the spec's folder, without '..'")
    path = base / pure
    if not path.exists():
        raise SpecError(f"code.paths: {path} does not exist; ship the code next to the spec")
    _inside(base, path, named)
    if path.is_file():
        if path.suffix != ".py":
            raise SpecError(f"code.paths: '{named}' is not a .py file or a package folder")
        module = path.stem
    else:
        if not (path / "__init__.py").is_file():
            raise SpecError(f"code.paths: '{named}' is a folder without __init__.py; name a package or .py files")
        module = path.name
    if not MODULE_NAME.match(module) or module in RESERVED:
        raise SpecError(f"code.paths: '{named}' would be imported as '{module}', which is not a module name a "
                        "team's code may take; rename it")
    return path, module


def _inside(base: Path, path: Path, named: str) -> None:
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise SpecError(f"code.paths: '{named}' leads outside the spec's folder ({resolved}); ship the code there")


def _python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts and p.is_file())


def extract(archive: bytes, expected_sha256: str, target: Path) -> None:
    """Unpack a stored archive after checking its sha256; only regular files, only inside `target`."""
    actual = hashlib.sha256(archive).hexdigest()
    if actual != expected_sha256:
        raise ArtifactError(f"the stored code archive was changed (sha256 {actual[:12]}…, recorded "
                        f"{expected_sha256[:12]}…); restore it from a backup")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(target, filter="data")

