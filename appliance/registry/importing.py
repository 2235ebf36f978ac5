"""`vigil import`: register a model trained elsewhere, with the same lineage and evaluation as training.

An import reads skops files, with Vigil's type allow-list (scikit-learn, NumPy, SciPy, and the
XGBoost, LightGBM and CatBoost estimator types), and the boosting libraries' own model files
(`appliance.boosters.files`), which their libraries parse and which are stored as a `NativeBooster`. joblib and pickle files run code when
loaded, so they come in only through a trusted import (an admin's `--trust`): the file's sha256 is
recorded in the audit log first, then a separate short-lived process loads it and converts it to
skops (`conversion.py`), and this process loads only that skops output, with the allow-list. Either
way the stored artifact is skops and loads safely; nothing here ever unpickles.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from appliance.clock import utc_now
from appliance.context import AppContext
from appliance.contracts.features import model_input
from appliance.errors import ArtifactError, SpecError
from appliance.boosters import files as native
from appliance.registry.artifacts import deserialize
from appliance.registry.blobs import BlobWriter
from appliance.registry.conversion import check_format, convert_trusted
from appliance.store import registry_queries as q
from appliance.training.dataset import choose_positive, split_by_time
from appliance.training.snapshot import take_snapshot
from appliance.training.spec import LoadedSpec
from appliance.training.trainer import Registered, finish_version, spec_features

SKOPS = (".skops",)
PICKLED = (".joblib", ".pkl", ".pickle")
ACCEPTS = (".skops (scikit-learn, NumPy and SciPy types, and XGBoost, LightGBM and CatBoost estimators), "
           f"{native.ACCEPTS}")
ALLOWED_TYPES = "scikit-learn, NumPy and SciPy types, the NumPy functions clip/round/nan_to_num, and XGBoost, " \
                "LightGBM and CatBoost estimators"


def import_version(ctx: AppContext, model_name: str, file: Path, loaded: LoadedSpec, *, trust: bool = False,
                   actor: str, reason: str, provenance: dict[str, Any] | None = None) -> Registered:
    """Register the model in `file`; with `trust`, a trusted import (audited, converted in a child process)."""
    if loaded.spec.model != model_name:
        raise SpecError(f"the spec names model '{loaded.spec.model}' but the import is into '{model_name}'; "
                        "make them the same")
    _outside_home(ctx, file)
    data = _read(file)
    digest = hashlib.sha256(data).hexdigest()
    if trust:
        model, file_format = _convert_audited(ctx, model_name, file, data, digest, actor, reason), file.suffix[1:]
    else:
        model, file_format = read_safe(file, data, loaded.spec, spec_text=loaded.text)
    imported_from = {"file": file.name, "sha256": digest, "format": file_format.lower(), "trusted": trust,
                     **(provenance or {})}
    return _register(ctx, model, file, loaded, actor=actor, reason=reason, imported_from=imported_from)


def _register(ctx: AppContext, model: Any, file: Path, loaded: LoadedSpec, *, actor: str, reason: str,
              imported_from: dict[str, Any]) -> Registered:
    writer = BlobWriter(ctx.home.root)
    try:
        snapshot, frame = take_snapshot(writer, loaded)
        spec = loaded.spec
        split = split_by_time(frame, spec.split)
        positive = choose_positive(frame[spec.target], spec) if spec.task == "binary" else None
        _check_scores(model, spec.task, positive, model_input(split.holdout.head(5), spec_features(spec)), file)
        return finish_version(ctx, writer, loaded, snapshot, split, model, positive=positive, origin="imported",
                              actor=actor, reason=reason, imported_from=imported_from)
    except BaseException:
        writer.discard()
        raise


def _outside_home(ctx: AppContext, file: Path) -> None:
    """An import brings a model from outside: the home's own files (a registered version's artifact) are
    not read for a caller, so an old version cannot come back under a new number unnoticed."""
    home = ctx.home.root.resolve()
    resolved = file.resolve()
    if resolved == home or home in resolved.parents:
        raise ArtifactError(f"{file} is inside the Vigil home; import a model file from outside it (a version "
                            "already registered is promoted, not imported again)")


def _read(file: Path) -> bytes:
    if not file.is_file():
        raise ArtifactError(f"model file {file} does not exist; check the path")
    return file.read_bytes()


def read_safe(file: Path, data: bytes, spec: Any, *, isolated: bool = False, spec_text: str = "") -> tuple[Any, str]:
    """(model, format): a skops file loaded with the allow-list, or a boosting library's own model file
    parsed by that library; any other format is refused without being read. A file a boosting library
    parses is read first in a child process (`parse_check`), unless this is that child (`isolated`)."""
    suffix = file.suffix.lower()
    if not isolated and (suffix in native.SUFFIXES or (suffix in SKOPS and _holds_library_types(data, file))):
        from appliance.registry.parse_check import check_in_child

        check_in_child(data, file.name, spec_text)
    if suffix in SKOPS:
        return deserialize(data, file.name, fix=f"Vigil stores only models built from {ALLOWED_TYPES}; custom "
                                                "classes and functions are not accepted (--trust does not change "
                                                "that); rebuild the model from those types"), "skops"
    if suffix in native.SUFFIXES:
        model = native.read_native(file.name, data, spec)
        return model, f"{model.library}-{suffix[1:]}"
    if suffix in PICKLED:
        raise ArtifactError(f"{file.name} is a {suffix[1:]} file, which runs code when loaded; an admin can import "
                            "it with --trust if they trust its author (it is loaded in a separate process and "
                            f"stored as skops; it must hold only {ALLOWED_TYPES}), or save it as {ACCEPTS}")
    raise ArtifactError(f"{file.name}: unknown model format '{suffix}'; Vigil reads {ACCEPTS} (or, as an admin, "
                        f"{'/'.join(PICKLED)} with --trust)")


def _holds_library_types(data: bytes, file: Path) -> bool:
    from appliance.registry.artifacts import LIBRARY_TYPES, listed_types

    return any(name in LIBRARY_TYPES for name in listed_types(data, file.name))


def _convert_audited(ctx: AppContext, model_name: str, file: Path, data: bytes, digest: str, actor: str,
                     reason: str) -> Any:
    """Audit the trusted load (committed before anything loads), convert in a child, load the skops safely."""
    check_format(file.name)
    with ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "import.trusted_load", model_name, None,
                       {"file": str(file), "sha256": digest, "bytes": len(data), "format": file.suffix[1:].lower()},
                       subject=f"file:{digest}", reason=reason or None)
    converted = convert_trusted(data, file.name)
    return deserialize(converted, file.name, fix="the loading process returned types outside the allow-list; refused")


def _check_scores(model: Any, task: str, positive: str | None, sample: Any, file: Path) -> None:
    method = "predict_proba" if task == "binary" else "predict"
    if not hasattr(model, method):
        raise ArtifactError(f"{file.name} holds a {type(model).__name__}, which has no {method}; "
                            f"a {task} model needs it")
    try:
        getattr(model, method)(sample)
    except Exception as e:
        raise ArtifactError(f"{file.name} cannot score the spec's features: {e}") from e
    if task == "binary":
        classes = [str(c).lower() for c in getattr(model, "classes_", [])]
        if classes == ["0", "1"]:  # 0/1 labels, as Vigil trains: 1 is the positive class
            return
        if len(classes) != 2 or classes[1] != positive:
            raise ArtifactError(f"{file.name} has classes {classes}; Vigil needs two with the positive class "
                                f"'{positive}' second")
