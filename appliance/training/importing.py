"""`vigil import`: register a model trained elsewhere, with the same lineage and evaluation as training.

An import reads skops files, with Vigil's type allow-list (scikit-learn, NumPy, SciPy, and the
XGBoost, LightGBM and CatBoost estimator types), and the boosting libraries' own model files
(`appliance.boosters.files`), which their libraries parse and which are stored as a `NativeBooster`. joblib and pickle files run code when
loaded, so they come in only through a trusted import (an admin's `--trust`): the file's sha256 is
recorded in the audit log first, then a separate short-lived process loads it and converts it to
skops (`conversion.py`), and this process loads only that skops output, with the allow-list. Either
way the stored artifact is skops and loads safely; nothing here ever unpickles. An MLflow model
directory is read the same way, its flavour choosing the reader (`mlflow_models`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.contracts.categories import label_text
from appliance.contracts.features import model_input
from appliance.errors import ArtifactError, SpecError
from appliance.boosters import files as native
from appliance.artifacts.model_files import deserialize
from appliance.core.blobs import BlobWriter
from appliance.registry.conversion import check_format, convert_trusted
from appliance.store import registry_queries as q
from appliance.training.dataset import choose_positive, split_by_time
from appliance.training.snapshot import take_snapshot
from appliance.training.spec import LoadedSpec
from appliance.training.trainer import Registered, finish_version, spec_features

if TYPE_CHECKING:
    from appliance.registry.mlflow_models import MlflowModel

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
    if file.is_dir():
        return _import_mlflow(ctx, model_name, file.resolve(), loaded, trust=trust, actor=actor, reason=reason,
                              provenance=provenance)
    data = _read(file)
    digest = hashlib.sha256(data).hexdigest()
    code: dict[str, Any] = {}
    if loaded.spec.code.paths:
        (model, code), file_format = _with_team_code(ctx, file, data, loaded, trust), "skops+code"
    elif trust:
        model, file_format = _convert_audited(ctx, model_name, file, data, digest, actor, reason), file.suffix[1:]
    else:
        model, file_format = read_safe(file, data, loaded.spec, spec_text=loaded.text)
    imported_from = {"file": file.name, "sha256": digest, "format": file_format.lower(), "trusted": trust,
                     **({"code": code} if code else {}), **(provenance or {})}
    return _register(ctx, model, file, loaded, actor=actor, reason=reason, imported_from=imported_from)


def _import_mlflow(ctx: AppContext, model_name: str, directory: Path, loaded: LoadedSpec, *, trust: bool, actor: str,
                   reason: str, provenance: dict[str, Any] | None) -> Registered:
    """An MLflow model directory: its flavour chooses the reader (`mlflow_models`), its signature must
    agree with the spec, and the lineage records where in MLflow the model came from."""
    from appliance.registry import mlflow_models

    source = mlflow_models.read_directory(directory, loaded.spec, ctx.home.root)
    mlflow_models.check_trust(source, trust, ALLOWED_TYPES)
    digest = hashlib.sha256(source.data).hexdigest()
    if trust:
        model = _convert_audited(ctx, model_name, source.path, source.data, digest, actor, reason)
        file_format = source.path.suffix[1:]
    else:
        model, file_format = _read_safe_as(source, loaded)
    imported_from = {"file": source.relative, "sha256": digest, "format": file_format.lower(), "trusted": trust,
                     "mlflow": source.lineage, **(provenance or {})}
    return _register(ctx, model, source.path, loaded, actor=actor, reason=reason, imported_from=imported_from,
                     optional_columns=source.optional_columns)


def _read_safe_as(source: MlflowModel, loaded: LoadedSpec) -> tuple[Any, str]:
    """`read_safe` on an MLflow model file, under a name whose suffix says its format (MLflow names
    them `model.lgb`, `model.cb`, `model.xgb`); messages name the file as it is."""
    alias = Path(source.read_as).name
    try:
        return read_safe(Path(alias), source.data, loaded.spec, spec_text=loaded.text)
    except ArtifactError as e:
        raise ArtifactError(str(e).replace(alias, source.shown)) from e


def _register(ctx: AppContext, model: Any, file: Path, loaded: LoadedSpec, *, actor: str, reason: str,
              imported_from: dict[str, Any], optional_columns: frozenset[str] = frozenset()) -> Registered:
    writer = BlobWriter(ctx.home.root)
    try:
        _keep_team_code(writer, model, imported_from)
        snapshot, frame = take_snapshot(writer, loaded)
        spec = loaded.spec
        split = split_by_time(frame, spec.split)
        positive = choose_positive(frame[spec.target], spec) if spec.task == "binary" else None
        _check_scores(model, spec.task, positive, model_input(split.holdout.head(5), spec_features(spec)), file)
        classes = model_classes(model, spec, file) if spec.task == "multiclass" else None
        return finish_version(ctx, writer, loaded, snapshot, split, model, positive=positive, origin="imported",
                              actor=actor, reason=reason, imported_from=imported_from, classes=classes,
                              optional_columns=optional_columns)
    except BaseException:
        writer.discard()
        raise


def _with_team_code(ctx: AppContext, file: Path, data: bytes, loaded: LoadedSpec,
                    trust: bool) -> tuple[Any, dict[str, Any]]:
    """(model, the code's description) for a skops model that needs the spec's own code: allowed only when
    an admin trusts exactly that code, and then only ever loaded by a worker process
    (`custom_code.isolated_model`)."""
    from appliance.access.output_paths import input_path
    from appliance.custom_code.bundle import collect
    from appliance.custom_code.isolated_model import IsolatedModel
    from appliance.custom_code.trust import require

    if trust or file.suffix.lower() not in SKOPS:
        raise ArtifactError(f"{file.name}: a model that ships the team's code (the spec's [code]) is imported as "
                            ".skops, without --trust; save it with skops.io.dump")
    if loaded.path is None:  # a spec that came inside a bundle has no folder for its code to be in
        raise ArtifactError(f"{file.name}: its spec names the team's code ([code] paths), but the spec came without "
                            "a folder holding that code; import it with `vigil import NAME FILE --spec SPEC` from "
                            "the folder of the spec and its code")
    bundle = collect(input_path(ctx.home.root, loaded.base_dir), list(loaded.spec.code.paths))
    require(ctx.store, bundle.sha256, f"{file.name}")
    model = IsolatedModel(data, bundle.archive, bundle.sha256, file.name, ctx.home.root)
    model.start()  # the worker loads it now: a model it cannot load is refused before anything is stored
    return model, bundle.describe()


def _keep_team_code(writer: BlobWriter, model: Any, imported_from: dict[str, Any]) -> None:
    """Store the code archive a model needs beside its artifact, and name it in the lineage."""
    from appliance.custom_code.isolated_model import IsolatedModel

    if isinstance(model, IsolatedModel):
        blob = writer.put_bytes("code", model.code_archive, ".tar")
        imported_from["code"] = {**imported_from["code"], "path": blob.relative_path,
                                 "estimator": model.reported_estimator}


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
        from appliance.training.parse_check import check_in_child

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
    from appliance.artifacts.model_files import LIBRARY_TYPES, listed_types

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


def model_classes(model: Any, spec: Any, file: Path) -> list[str]:
    """A multiclass model's classes as text, in the order of its probability columns (the spec's
    `classes`, when it names them, must be exactly these). A model fitted on class positions 0..k-1,
    as Vigil trains, takes its names from the spec's `classes` of the same count (names that are not
    themselves such positions, which would be ambiguous)."""
    classes = [label_text(c) for c in getattr(model, "classes_", [])]
    if len(classes) < 3 or len(set(classes)) != len(classes):
        raise ArtifactError(f"{file.name} has classes {classes}; a multiclass model needs at least 3 distinct ones")
    positions = [str(i) for i in range(len(classes))]
    if spec.classes is not None and classes == positions and not set(spec.classes) & set(positions) \
            and len(spec.classes) == len(classes):
        return list(spec.classes)
    if spec.classes is not None and list(spec.classes) != classes:
        raise ArtifactError(f"{file.name} has classes {classes} (in its probability order); the spec lists "
                            f"{list(spec.classes)}; make them the same")
    return classes


def _check_scores(model: Any, task: str, positive: str | None, sample: Any, file: Path) -> None:
    method = "predict" if task == "regression" else "predict_proba"
    if not hasattr(model, method):
        raise ArtifactError(f"{file.name} holds a {type(model).__name__}, which has no {method}; "
                            f"a {task} model needs it")
    try:
        answered = getattr(model, method)(sample)
    except Exception as e:
        raise ArtifactError(f"{file.name} cannot score the spec's features: {e}") from e
    if task == "multiclass":
        columns = getattr(answered, "shape", (0, 0))[-1] if getattr(answered, "ndim", 0) == 2 else 0
        if columns != len(getattr(model, "classes_", [])):
            raise ArtifactError(f"{file.name} answers {columns} probability columns for its "
                                f"{len(getattr(model, 'classes_', []))} classes; a multiclass model needs one per class")
    if task == "binary":
        classes = [str(c).lower() for c in getattr(model, "classes_", [])]
        if classes == ["0", "1"]:  # 0/1 labels, as Vigil trains: 1 is the positive class
            return
        if len(classes) != 2 or classes[1] != positive:
            raise ArtifactError(f"{file.name} has classes {classes}; Vigil needs two with the positive class "
                                f"'{positive}' second")
