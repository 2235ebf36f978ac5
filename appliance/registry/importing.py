"""`vigil import`: register a model trained elsewhere, with the same lineage and evaluation as training.

skops files load with Vigil's type allow-list; joblib and pickle files execute code when loaded, so
they are read only with `trust=True`. Either way the stored artifact is skops and must load safely.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from appliance.context import AppContext
from appliance.contracts.features import model_input
from appliance.errors import ArtifactError, SpecError
from appliance.registry.artifacts import deserialize, serialize, unsafe_types
from appliance.registry.blobs import BlobWriter
from appliance.training.dataset import choose_positive, split_by_time
from appliance.training.snapshot import take_snapshot
from appliance.training.spec import LoadedSpec
from appliance.training.trainer import Registered, finish_version, spec_features

SKOPS = (".skops",)
PICKLED = (".joblib", ".pkl", ".pickle")


def import_version(ctx: AppContext, model_name: str, file: Path, loaded: LoadedSpec, *, trust: bool,
                   actor: str, reason: str, provenance: dict[str, Any] | None = None) -> Registered:
    if loaded.spec.model != model_name:
        raise SpecError(f"the spec names model '{loaded.spec.model}' but the import is into '{model_name}'; "
                        "make them the same")
    model, file_format, digest = read_model_file(file, trust=trust)
    unsafe = unsafe_types(serialize(model))
    if unsafe:
        raise ArtifactError(f"{file.name} uses types outside scikit-learn, NumPy and SciPy ({', '.join(unsafe)}); "
                            "Vigil stores only models it can load safely")
    writer = BlobWriter(ctx.home.root)
    try:
        snapshot, frame = take_snapshot(writer, loaded)
        spec = loaded.spec
        split = split_by_time(frame, spec.split)
        positive = choose_positive(frame[spec.target], spec) if spec.task == "binary" else None
        _check_scores(model, spec.task, positive, model_input(split.holdout.head(5), spec_features(spec)), file)
        imported_from = {"file": file.name, "sha256": digest, "format": file_format, "trusted": trust,
                         **(provenance or {})}
        return finish_version(ctx, writer, loaded, snapshot, split, model, positive=positive, origin="imported",
                              actor=actor, reason=reason, imported_from=imported_from)
    except BaseException:
        writer.discard()
        raise


def read_model_file(file: Path, *, trust: bool) -> tuple[Any, str, str]:
    """(model, format, sha256 of the file)."""
    if not file.is_file():
        raise ArtifactError(f"model file {file} does not exist; check the path")
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = file.suffix.lower()
    if suffix in SKOPS:
        return deserialize(data, file.name, trust_all=trust), "skops", digest
    if suffix in PICKLED:
        if not trust:
            raise ArtifactError(f"{file.name} is a {suffix[1:]} file, which runs code when loaded; "
                                "pass --trust only if you trust its author, or export it with skops")
        return _unpickle(file, suffix), suffix[1:], digest
    raise ArtifactError(f"{file.name}: unknown model format '{suffix}'; use .skops (or .joblib/.pkl with --trust)")


def _unpickle(file: Path, suffix: str) -> Any:
    try:
        if suffix == ".joblib":
            import joblib

            return joblib.load(file)
        with file.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - only with the user's explicit --trust
    except Exception as e:
        raise ArtifactError(f"{file.name} could not be loaded: {e}") from e


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
