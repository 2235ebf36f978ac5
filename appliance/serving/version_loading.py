"""How a version comes to answer: its stored scoring plan, else its artifact (and a new plan).

With a plan on record the artifact is not even read: loading is NumPy arrays from one file, which
is what makes `vigil up` ready fast. Without one, the skops artifact is loaded and compiled to a plan,
which is checked on probe rows and stored for the next start; a pipeline with no plan form gets the
fast path, or else is served by its library as is, on the daemon's threads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from appliance.home.context import AppContext
from appliance.contracts.contract import Contract
from appliance.contracts.features import Feature
from appliance.errors import StoreError
from appliance.plans.storage import check_plan, find_plan, record_plan, write_plan
from appliance.core.blobs import BlobWriter
from appliance.registry.loading import load_version_model
from appliance.registry.versions import require_artifact
from appliance.serving.fast_path import compile_pipeline
from appliance.core.inputs import Inputs
from appliance.serving.loaded import LoadedVersion
from appliance.core.threads import pin_library_threads

log = logging.getLogger("vigil.serving")
ScoreFn = Callable[[Inputs], np.ndarray]


def loaded_version(ctx: AppContext, row: dict[str, Any], features: list[Feature], contract: Contract,
                   *, keep_plan: bool = True) -> LoadedVersion:
    """The version ready to score, exactly as the daemon serves it (the release gates measure this)."""
    model, fast, engine = scoring_engine(ctx, row, features, contract, keep_plan=keep_plan)
    return LoadedVersion(row["model_name"], int(row["version"]), row["task"], model, features, contract,
                         row["positive_class"], row["threshold"] or 0.5, int(row["artifact_bytes"]), fast, engine,
                         tuple(row.get("classes") or ()), _mlflow_predict_fn(row))


def _mlflow_predict_fn(row: dict[str, Any]) -> str:
    """A model saved by MLflow with `pyfunc_predict_fn="predict_proba"` answers probabilities on
    /invocations by default, as MLflow's own server does; every other version answers `predict`."""
    recorded = ((row.get("imported_from") or {}).get("mlflow") or {}).get("predict_fn")
    return "predict_proba" if recorded == "predict_proba" and row["task"] != "regression" else "predict"


def scoring_engine(ctx: AppContext, row: dict[str, Any], features: list[Feature],
                   contract: Contract, *, keep_plan: bool = True) -> tuple[Any, ScoreFn | None, str]:
    """(fitted pipeline or None, fast function or None, engine name) for a version row.

    A model a library scores has its threads pinned to the daemon's (appliance/core/threads.py).
    `keep_plan=False` (a read-only store) compiles a plan as usual but does not store it."""
    require_artifact(row)
    plan = find_plan(ctx.store, ctx.home.root, row["artifact_sha256"])
    if plan is not None:
        return None, plan, "plan"
    model = pin_library_threads(load_version_model(ctx, row))
    chosen = choose_engine(model, row["task"], features, contract)
    if chosen.checked is not None and keep_plan:
        _keep(ctx, row["artifact_sha256"], *chosen.checked)
    return model, chosen.score, chosen.engine


@dataclass(frozen=True, slots=True)
class Chosen:
    """What answers for a loaded model that has no stored plan, and why (`vigil show` says it)."""

    engine: str  # "code process", "plan", "fast path" or "pipeline"
    score: ScoreFn | None
    checked: tuple[Any, int] | None  # the plan and the rows it was checked on, when one compiled
    why: str  # why there is no plan ("" when there is)


def choose_engine(model: Any, task: str, features: list[Feature], contract: Contract) -> Chosen:
    """The one decision the daemon and `vigil show` share: a team's code answers from its own process; else
    a plan that answers exactly as the model; else the fast path; else the model's own library."""
    if getattr(model, "code_sha256", None):
        return Chosen("code process", None, None, "the model ships a team's code: a separate worker process loads "
                                                  "and scores it")
    if task == "multiclass":
        checked, why = None, "a multiclass version has no scoring plan form"
    else:
        checked, why = check_plan(model, features, task, contract)
    if checked is not None:
        return Chosen("plan", checked[0], checked, "")
    fast = compile_pipeline(model, features, contract, task)
    return Chosen("fast path" if fast is not None else "pipeline", fast, None, why)


def _keep(ctx: AppContext, artifact_sha256: str, plan: Any, checked_rows: int) -> None:
    """Store the plan for the next start; failing to is logged, never fatal."""
    writer = BlobWriter(ctx.home.root)
    try:
        record = write_plan(writer, plan, checked_rows)
        with ctx.store.transaction():
            record_plan(ctx.store, artifact_sha256, record)
    except (OSError, StoreError) as e:
        writer.discard()
        log.warning("could not store the scoring plan of artifact %s: %s", artifact_sha256[:12], e)
