"""An MLflow model directory (its `MLmodel` file and the model file it names), read without running it.

`MLmodel` is YAML, parsed with PyYAML's safe loader (plain values only; anchors and aliases are
refused, so a small file cannot expand into a large one) and at most `MLMODEL_MAX_BYTES` long. Its
flavour decides how the model file is read: the `sklearn` flavour's skops file with Vigil's type
allow-list; `xgboost` (`model.ubj`/`.json`/`.xgb`), `lightgbm` (a Booster's `model.lgb` text) and
`catboost` (`model.cb`) by their libraries' own loaders; a scikit-learn model MLflow pickled
(`serialization_format` pickle or cloudpickle, or a LightGBM scikit-learn model in `model.pkl`) only
through a trusted import. Nothing in the directory is imported or executed (not its `code` folder,
not its `python_function` loader).

Every file is opened by a path relative to the directory, without `..` or an absolute path, and the
file actually opened (after every symlink) must lie inside the directory and outside the home, and be
a regular file: a link or a rewritten `MLmodel` cannot make Vigil read anything else.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from appliance.errors import ArtifactError
from appliance.registry.mlflow_signature import Column, read_signature

MLMODEL = "MLmodel"
MLMODEL_MAX_BYTES = 1 << 20
FLAVOURS = ("sklearn", "xgboost", "lightgbm", "catboost")
ACCEPTS = ("MLflow models of the flavours sklearn (skops; pickle or cloudpickle only with --trust), xgboost "
           "(ubj, json, or xgb written by XGBoost 2 or later), lightgbm (a Booster's text model; a scikit-learn "
           "LightGBM model as skops, or pickled with --trust) and catboost (cbm or json)")
SKOPS, NATIVE, PICKLED = "skops", "native", "pickled"
_MAX_TEXT = 512
_RECORDED = ("run_id", "model_id", "model_uuid", "artifact_path", "utc_time_created", "mlflow_version")
_LIBRARY_VERSION = {"sklearn": "sklearn_version", "xgboost": "xgb_version", "lightgbm": "lgb_version",
                    "catboost": "catboost_version"}


@dataclass(frozen=True, slots=True)
class MlflowModel:
    """The model file an MLflow directory names, with how to read it and what to record of its origin."""

    directory: Path  # resolved
    relative: str  # the model file, as MLmodel names it
    data: bytes
    reader: str  # SKOPS, NATIVE or PICKLED
    read_as: str  # a file name whose suffix tells Vigil's readers the format
    flavour: str
    columns: list[Column] | None  # the signature's columns; None without a column signature
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.directory / self.relative

    @property
    def shown(self) -> str:
        """How messages name the model file: the directory's name and the file's path inside it."""
        return f"{self.directory.name}/{self.relative}"

    @property
    def optional_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns or [] if not c.required)


def read_directory(directory: Path, spec: Any, home: Path) -> MlflowModel:
    """The model of an MLflow directory (resolved, outside `home`), checked against the spec's features."""
    text = _read_inside(directory, MLMODEL, home, MLMODEL_MAX_BYTES, missing=(
        f"{directory} is a directory without an {MLMODEL} file; Vigil imports a model file, or an MLflow "
        f"model directory ({MLMODEL} and the files it names)"))
    document = parse_mlmodel(text, f"{directory.name}/{MLMODEL}")
    flavour, settings = _flavour(document, directory)
    relative, reader, suffix = _LOCATE[flavour](settings, f"{directory.name}/{MLMODEL}")
    where = f"{directory.name}/{MLMODEL} (flavour {flavour})"
    data = _read_inside(directory, relative, home, None, where=where)
    if flavour == "xgboost":
        suffix = _xgboost_suffix(f"{directory.name}/{relative}", data)
    columns = read_signature(document.get("signature"), spec, f"{directory.name}/{MLMODEL}")
    lineage = _lineage(document, flavour, settings, relative, directory, text, columns)
    read_as = relative if relative.lower().endswith(suffix) else f"{relative}{suffix}"
    return MlflowModel(directory, relative, data, reader, read_as, flavour, columns, lineage)


def check_trust(model: MlflowModel, trust: bool, allowed_types: str) -> None:
    """A pickled model comes in only with --trust; a native one never needs it (and is refused with it)."""
    if model.reader == PICKLED and not trust:
        raise ArtifactError(
            f"{model.shown}: the MLflow {model.flavour} flavour stores this model pickled "
            f"({model.lineage.get('serialization') or 'pickle'}), which runs code when loaded; an admin can import "
            "the directory with --trust if they trust its author (it is loaded in a separate process and stored as "
            f"skops; it must hold only {allowed_types}), or save it again with MLflow's "
            "serialization_format=\"skops\"")
    if model.reader == NATIVE and trust:
        raise ArtifactError(f"{model.shown} is {model.flavour}'s own model format, read without running code; "
                            "import it without --trust")


# -- MLmodel -------------------------------------------------------------------------------------

def parse_mlmodel(data: bytes, where: str) -> dict[str, Any]:
    """The MLmodel document: a mapping with a `flavors` mapping."""
    import yaml

    try:
        document = yaml.load(data.decode("utf-8"), Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as e:
        reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise ArtifactError(f"{where} is not a valid MLmodel file ({reason}); MLflow writes it as YAML") from e
    if not isinstance(document, dict) or not isinstance(document.get("flavors"), dict):
        raise ArtifactError(f"{where} has no 'flavors' mapping; it is not an MLflow MLmodel file")
    return document


def _loader() -> type:
    """PyYAML's safe loader, refusing aliases (MLflow writes none; they let a small file expand)."""
    import yaml

    class NoAliases(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("it uses a YAML alias, which MLflow never writes")
            return super().compose_node(parent, index)

    return NoAliases


def _flavour(document: dict[str, Any], directory: Path) -> tuple[str, dict[str, Any]]:
    flavours = document["flavors"]
    for name in FLAVOURS:
        if name in flavours:
            settings = flavours[name]
            if not isinstance(settings, dict):
                raise ArtifactError(f"{directory.name}/{MLMODEL}: flavour '{name}' is not a mapping")
            return name, settings
    found = ", ".join(sorted(str(k)[:60] for k in flavours)) or "none"
    raise ArtifactError(f"{directory.name}/{MLMODEL} has the flavours {found}; Vigil imports {ACCEPTS} (a "
                        "python_function-only model is custom code, which Vigil does not run)")


def _setting(settings: dict[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = settings.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 4096 or not value.isprintable():
        raise ArtifactError(f"{where}: '{key}' must be a short text")
    return value


def _required(settings: dict[str, Any], key: str, where: str) -> str:
    value = _setting(settings, key, where)
    if not value:
        raise ArtifactError(f"{where}: the flavour names no model file ('{key}' is missing)")
    return value


def _sklearn(settings: dict[str, Any], where: str) -> tuple[str, str, str]:
    relative = _required(settings, "pickled_model", where)
    serialization = _setting(settings, "serialization_format", where, "cloudpickle")  # MLflow's old default
    if serialization == "skops":
        return relative, SKOPS, ".skops"
    if serialization in ("pickle", "cloudpickle"):
        return relative, PICKLED, ".pkl"
    raise ArtifactError(f"{where}: serialization_format '{serialization}' is not one Vigil reads (skops; pickle "
                        "or cloudpickle with --trust)")


def _xgboost(settings: dict[str, Any], where: str) -> tuple[str, str, str]:
    return _required(settings, "data", where), NATIVE, ".ubj"  # the content decides: _xgboost_suffix


def _lightgbm(settings: dict[str, Any], where: str) -> tuple[str, str, str]:
    relative = _required(settings, "data", where)
    model_class = _setting(settings, "model_class", where) or ""
    if model_class.endswith(".Booster") or (not model_class and relative.lower().endswith((".lgb", ".txt"))):
        return relative, NATIVE, ".txt"
    if _setting(settings, "serialization_format", where) == "skops" or relative.lower().endswith(".skops"):
        return relative, SKOPS, ".skops"
    return relative, PICKLED, ".pkl"  # a scikit-learn LightGBM model MLflow pickled


def _catboost(settings: dict[str, Any], where: str) -> tuple[str, str, str]:
    relative = _required(settings, "data", where)
    save_format = _setting(settings, "save_format", where, "cbm")
    if save_format not in ("cbm", "json"):
        raise ArtifactError(f"{where}: CatBoost save_format '{save_format}' is not one Vigil reads (cbm, json)")
    return relative, NATIVE, f".{save_format}"


_LOCATE = {"sklearn": _sklearn, "xgboost": _xgboost, "lightgbm": _lightgbm, "catboost": _catboost}


def _xgboost_suffix(shown: str, data: bytes) -> str:
    """XGBoost's JSON and UBJSON both open with '{'; `.xgb` from XGBoost 2 or later is UBJSON, from
    XGBoost 1 a binary format that current XGBoost no longer reads."""
    if data.lstrip().startswith(b'{"'):
        return ".json"
    if data.startswith(b"{"):
        return ".ubj"
    raise ArtifactError(f"{shown} is in XGBoost's old binary format (written by XGBoost before 2.0), which Vigil "
                        "does not read; load it with XGBoost and save it with save_model as .ubj or .json")


def _lineage(document: dict[str, Any], flavour: str, settings: dict[str, Any], relative: str, directory: Path,
             text: bytes, columns: list[Column] | None) -> dict[str, Any]:
    """What Vigil records of the model's MLflow origin."""
    recorded = {key: _recorded(document.get(key), key, directory) for key in _RECORDED}
    serialization = "text" if flavour == "lightgbm" and relative.lower().endswith((".lgb", ".txt")) else \
        settings.get("serialization_format") or settings.get("model_format") or settings.get("save_format")
    pyfunc = document["flavors"].get("python_function")
    predict_fn = pyfunc.get("predict_fn") if isinstance(pyfunc, dict) else None
    return {**recorded, "flavor": flavour,
            "predict_fn": predict_fn if predict_fn in ("predict", "predict_proba") else None,
            "library_version": _recorded(settings.get(_LIBRARY_VERSION[flavour]), "library_version", directory),
            "serialization": _recorded(serialization, "serialization", directory), "model_file": relative,
            "directory": str(directory), "mlmodel_sha256": hashlib.sha256(text).hexdigest(),
            "signature": [c.as_dict() for c in columns] if columns is not None else None}


def _recorded(value: Any, key: str, directory: Path) -> str | None:
    """A scalar of MLmodel as text for the lineage; refused when it is not a short printable value."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, (str, int, float, date)):
        raise ArtifactError(f"{directory.name}/{MLMODEL}: '{key}' must be a single value")
    text = str(value)
    if len(text) > _MAX_TEXT or not text.isprintable():
        raise ArtifactError(f"{directory.name}/{MLMODEL}: '{key}' must be printable text of at most {_MAX_TEXT} "
                            "characters")
    return text


# -- files inside the directory -------------------------------------------------------------------

def _read_inside(directory: Path, relative: str, home: Path, limit: int | None, *, where: str = "",
                 missing: str = "") -> bytes:
    """The bytes of `relative` under `directory`; refused unless the file opened is a regular file inside
    `directory` and outside `home` (checked on the opened file, so a link swapped in meanwhile is caught)."""
    parts = _relative_parts(relative, where or directory.name)
    target = directory.joinpath(*parts)
    shown = f"{directory.name}/{relative}"
    try:
        descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ArtifactError(missing or f"{where}: its model file {shown} does not exist") from None
    except OSError as e:
        raise ArtifactError(f"{shown} cannot be read ({e.strerror})") from None
    try:
        _check_opened(descriptor, target, directory, home, shown, limit)
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
    finally:
        os.close(descriptor)
    if limit is not None and len(data) > limit:
        raise ArtifactError(f"{shown} is larger than {limit} bytes; an MLflow {MLMODEL} file is a few KB")
    return data


def _relative_parts(relative: str, where: str) -> list[str]:
    """The path's parts, refused when it is absolute, climbs out with `..`, or is not plain text."""
    path = PurePosixPath(relative)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or not parts or ".." in parts or "\\" in relative or not relative.isprintable():
        raise ArtifactError(f"{where}: the model file '{relative[:200]}' must be a path inside the model directory "
                            "(relative, without '..')")
    return parts


def _check_opened(descriptor: int, target: Path, directory: Path, home: Path, shown: str, limit: int | None) -> None:
    opened = _opened_path(descriptor, target)
    home = home.resolve()
    if not (directory in opened.parents) or opened == home or home in opened.parents:
        raise ArtifactError(f"{shown} leads outside the model directory {directory}; Vigil reads only files "
                            "inside it")
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise ArtifactError(f"{shown} is not a regular file")
    if limit is not None and info.st_size > limit:
        raise ArtifactError(f"{shown} is larger than {limit} bytes; an MLflow {MLMODEL} file is a few KB")


def _opened_path(descriptor: int, target: Path) -> Path:
    """Where the open file really is (Linux: from /proc, so no later rename or link changes the answer)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{descriptor}"))
    except OSError:
        return target.resolve()
