"""Which engine answers a version, and why: what `vigil show` and the console tell the people who run it.

The answer is the one `vigil up` reaches (appliance/serving/version_loading.py): a stored scoring plan
if there is one for the installed versions; else the plan compiled and checked from the artifact, if
it has an array form; else the fast path or the model's own library, with the reason it has no plan.
A version without a stored plan has its artifact loaded once per process to find out; the answer is
kept by artifact hash (it cannot change while the installed libraries do not).
"""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json
from appliance.errors import ArtifactDeleted, ArtifactError
from appliance.plans.storage import environment, plan_on_record
from appliance.registry.contracts import current_contract
from appliance.registry.loading import load_version_model

_KNOWN: dict[tuple[str, str], dict[str, Any]] = {}
_KEEP = 256  # answers kept per process (one per artifact)


def serving_engine(ctx: AppContext, row: dict[str, Any]) -> dict[str, Any]:
    """{"engine": "plan" | "fast path" | "pipeline" | "none", "library": what runs the model, "detail": why}."""
    record = plan_on_record(ctx.store, row["artifact_sha256"])
    if record is not None:
        return {"engine": "plan", "library": "NumPy",
                "detail": f"scoring plan, checked against the model on {record['checked_rows']} rows"}
    key = (row["artifact_sha256"], environment())
    known = _KNOWN.get(key)  # one read: another request thread may clear the dict meanwhile
    if known is not None:
        return known
    try:
        found = _found_out(ctx, row)
    except ArtifactDeleted:
        return {"engine": "none", "library": None, "detail": "its artifact was deleted by retention"}
    except ArtifactError as e:  # e.g. its team's code is no longer trusted: not kept, trust may come back
        return {"engine": "none", "library": None, "detail": f"it cannot be loaded: {e}"}
    if len(_KNOWN) >= _KEEP:
        _KNOWN.clear()
    _KNOWN[key] = found
    return found


def _found_out(ctx: AppContext, row: dict[str, Any]) -> dict[str, Any]:
    from appliance.serving.version_loading import choose_engine

    features = features_from_json(row["features"])
    _, contract = current_contract(ctx.store, row["model_name"], int(row["version"]))
    model = load_version_model(ctx, row)
    chosen = choose_engine(model, row["task"], features, contract)
    if chosen.engine == "code process":
        return {"engine": chosen.engine, "library": "the team's code", "detail": chosen.why}
    if chosen.checked is not None:
        return {"engine": "plan", "library": "NumPy",
                "detail": f"scoring plan, checked on {chosen.checked[1]} probe rows; compiled when the daemon loads "
                          "the version (none stored yet)"}
    library = library_name(model)
    return {"engine": chosen.engine, "library": library, "detail": f"no scoring plan: {chosen.why}; {library} scores it"}


def library_name(model: Any) -> str:
    """The library whose own predict answers for the model: XGBoost, LightGBM, CatBoost or scikit-learn."""
    from appliance.boosters.libraries import display_name
    from appliance.plans.boosters import library_of

    final = model.steps[-1][1] if hasattr(model, "steps") and model.steps else model
    library = library_of(final)
    return display_name(library) if library else "scikit-learn"
