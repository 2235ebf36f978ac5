"""Model artifacts: serialised with skops (never raw pickle), loaded only after their hash checks out.

skops refuses to load types it does not know; Vigil trusts exactly the types from scikit-learn,
NumPy and SciPy (and Python built-ins), a named list of NumPy functions a `FunctionTransformer` may
hold, and the estimator and booster types of XGBoost, LightGBM and CatBoost (their state is the
library's own model format, parsed by the library; no code is unpickled). Anything else in a file
needs the importer's `--trust`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from appliance.errors import ArtifactError

SAFE_MODULES = ("sklearn.", "numpy.", "scipy.", "collections.")
SAFE_NAMES = (
    "functools.partial",  # skops checks the function a partial wraps on its own
    "sklearn.utils.validation.check_array",  # held by histogram gradient boosting
    # NumPy functions (not ufuncs, which are trusted as a kind) that compute from their input alone,
    # for FunctionTransformer(np.clip) and the like
    "numpy.clip", "numpy.round", "numpy.around", "numpy.nan_to_num", "numpy.fix", "numpy.real",
)
# Estimators and boosters of the boosting libraries: each keeps its model in the library's own format
# and rebuilds it with the library's parser.
LIBRARY_TYPES = (
    "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
    "catboost.core.CatBoostClassifier", "catboost.core.CatBoostRegressor",
    "appliance.boosters.native.NativeBooster",
)


def serialize(model: Any) -> bytes:
    import skops.io as sio

    try:
        return sio.dumps(model)
    except Exception as e:  # skops raises many types for objects it cannot represent
        raise ArtifactError(f"model of type {type(model).__name__} cannot be stored as skops: {e}") from e


def artifact_bytes(model: Any) -> bytes:
    """What a version stores: the skops bytes a model that ships a team's code arrived as (it is never
    loaded here), else the model serialised now."""
    stored = getattr(model, "stored_artifact", None)
    return stored if isinstance(stored, bytes) else serialize(model)


def unsafe_types(data: bytes) -> list[str]:
    """Types in a skops payload outside Vigil's allow-list."""
    return sorted(t for t in _listed_types(data) if not _trusted(t))


def _listed_types(data: bytes) -> list[str]:
    return listed_types(data, "the file")


def listed_types(data: bytes, label: str) -> list[str]:
    """Every type skops would ask its caller to trust in this payload (reading only its schema)."""
    import skops.io as sio

    try:
        return list(sio.get_untrusted_types(data=data))
    except Exception as e:
        raise ArtifactError(f"{label} is not a readable skops file: {e}") from e


def _trusted(name: str) -> bool:
    """Classes (and NumPy ufuncs) from scikit-learn, NumPy, SciPy and collections; a few named functions.

    Functions are not trusted by module: a function reference is how a payload runs code.
    """
    if name in SAFE_NAMES or name in LIBRARY_TYPES:
        return True
    if not name.startswith(SAFE_MODULES):
        return False
    found = _resolve(name)
    if isinstance(found, type):
        return True
    import numpy as np

    return isinstance(found, np.ufunc)


def _resolve(name: str) -> object | None:
    import importlib

    module_name, _, attribute = name.rpartition(".")
    while module_name:
        try:
            found: object = importlib.import_module(module_name)
        except ImportError:
            module_name, _, head = module_name.rpartition(".")
            attribute = f"{head}.{attribute}"
            continue
        for part in attribute.split("."):
            found = getattr(found, part, None)
            if found is None:
                return None
        return found
    return None


def deserialize(data: bytes, label: str, *, trust_all: bool = False,
                fix: str = "import it with --trust only if you trust its author") -> Any:
    """Load skops bytes; refuse types outside the allow-list unless `trust_all`."""
    import skops.io as sio

    listed = _listed_types(data)  # read once: it decides trust and is what skops is told to trust
    unsafe = sorted(t for t in listed if not _trusted(t))
    if unsafe and not trust_all:
        raise ArtifactError(f"{label} contains types Vigil does not trust: {', '.join(unsafe)}; {fix}")
    _libraries_present(listed, label)
    try:
        model = sio.loads(data, trusted=listed)
    except Exception as e:
        raise ArtifactError(f"{label} could not be loaded: {e}") from e
    if any(name in LIBRARY_TYPES for name in listed):
        from appliance.boosters.structure import check_model

        check_model(model, label)  # a booster's trees are checked before anything predicts with it
    return model


def _libraries_present(listed: list[str], label: str) -> None:
    """A model holding a boosting library's types loads only where that library is installed."""
    from appliance.boosters.libraries import require

    for library in sorted({name.split(".")[0] for name in listed if name in LIBRARY_TYPES} - {"appliance"}):
        try:
            require(library, label)
        except Exception as e:
            raise ArtifactError(str(e)) from e


def read_verified(path: Path, expected_sha256: str, label: str) -> bytes:
    """A stored file's bytes, once its sha256 matches the registry's."""
    if not path.is_file():
        raise ArtifactError(f"{label}: artifact file {path} is missing; restore it from a backup")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ArtifactError(
            f"{label}: artifact file {path} was changed (sha256 {actual[:12]}…, registered {expected_sha256[:12]}…); "
            "restore it from a backup"
        )
    return data


def load_verified(path: Path, expected_sha256: str, label: str) -> Any:
    """Read an artifact, check its sha256 against the registry, then load it."""
    data = read_verified(path, expected_sha256, label)
    return deserialize(data, label, fix="the artifact is not one Vigil wrote; restore it from a backup")
