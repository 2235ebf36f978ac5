"""The optional boosting libraries: importing one lazily, with the install command when it is missing.

Each is an extra (`pip install 'vigil[xgboost]'`, `vigil[lightgbm]`, `vigil[catboost]`), so a box that
only serves scikit-learn models never loads them; `vigil --help` imports none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from appliance.errors import SpecError

LIBRARIES = ("xgboost", "lightgbm", "catboost")
_NAMES = {"xgboost": "XGBoost", "lightgbm": "LightGBM", "catboost": "CatBoost"}


def require(library: str, why: str) -> ModuleType:
    """The library's module, or a SpecError naming the extra that installs it."""
    if library not in LIBRARIES:
        raise SpecError(f"unknown boosting library '{library}'; Vigil reads {', '.join(LIBRARIES)}")
    try:
        return importlib.import_module(library)
    except ImportError as e:
        raise SpecError(f"{why} needs {_NAMES[library]}, which is not installed; install it with "
                        f"pip install 'vigil[{library}]'") from e


def display_name(library: str) -> str:
    return _NAMES.get(library, library)


def installed_version(library: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for distribution in (library, f"{library}-cpu"):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return None
