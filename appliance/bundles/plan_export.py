"""`vigil plan export NAME VERSION DIR`: a version's scoring plan as a signed package for another machine.

The package (`appliance.plans.package` describes its files) holds the plan exactly as this box serves
it, the contract in force with the serving policy, and the lineage a reader needs to trust it, signed
with this box's key (`vigil keys init`) like a bundle. `appliance.plans.portable.load_plan` checks and
runs it with NumPy alone, answering as `vigil score` does.

Only a version with a scoring plan is exported: the plan on record for the installed libraries, else the
one its pipeline compiles to now, checked against it and stored as `vigil up` would. A version without
one (multiclass, or a pipeline with no array form) is refused with why, before anything is written. DIR
must be new or empty; the package is written beside it and renamed into place, so it appears whole or
not at all. The export is audited, naming the caller.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from appliance.bundles import keys
from appliance.clock import utc_now
from appliance.errors import ArtifactError, NoScoringPlan, OutputRefused
from appliance.plans import package
from appliance.store import registry_queries as q

NEEDED = ("a plan is made for a binary or regression version whose pipeline is imputers, scalers and encoders "
          "before a scikit-learn tree ensemble, XGBoost, LightGBM, CatBoost or a linear model: retrain it with "
          "such an estimator to export a plan, or score it on this box (`vigil score`)")


def export_plan(ctx: Any, model_name: str, number: int, target: Path, actor: str) -> dict[str, Any]:
    from appliance.contracts.features import features_from_json
    from appliance.registry.contracts import current_contract
    from appliance.registry.versions import servable_version

    target = _new_or_empty(target.resolve())
    row = servable_version(ctx.store, model_name, number)
    features = features_from_json(row["features"])
    revision, contract = current_contract(ctx.store, model_name, number)
    record = _plan_record(ctx, row, features, contract)
    plan_bytes = _plan_bytes(ctx.home.root, record, f"{model_name} v{number}")
    policy = ctx.config.serving.policy_for(model_name)
    files = {
        package.PLAN: plan_bytes,
        package.CONTRACT: package.to_json({
            "model": model_name, "version": number, "revision": revision, "features": [f.as_dict() for f in features],
            "columns": contract.model_dump(mode="json")["columns"],
            "policy": {"unknown_category": policy.unknown_category, "out_of_range": policy.out_of_range}}),
        package.LINEAGE: package.to_json(_lineage(row, record, actor)),
    }
    manifest = package.manifest_for(files, {"model": model_name, "version": number, "task": row["task"]})
    signature = keys.sign(ctx.home.root, manifest)
    _write(target, {**files, package.MANIFEST: manifest, package.SIGNATURE: package.to_json(signature)})
    with ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "plan.export", model_name, number,
                       {"directory": str(target), "key_id": signature["key_id"], "plan_sha256": record["plan_sha256"]},
                       subject=f"version:{model_name}/v{number}",
                       after={"plan_package": str(target), "key_id": signature["key_id"]})
    return {"directory": str(target), "model": model_name, "version": number, "key_id": signature["key_id"],
            "public_key": signature["public_key"], "plan_sha256": record["plan_sha256"],
            "files": sorted([*files, package.MANIFEST, package.SIGNATURE])}


def _new_or_empty(target: Path) -> Path:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputRefused(f"{target} exists and is not a directory; export a plan into a new or empty directory")
    if target.exists() and any(target.iterdir()):
        raise OutputRefused(f"{target} exists and is not empty; export a plan into a new or empty directory")
    return target


def _plan_record(ctx: Any, row: dict[str, Any], features: list[Any], contract: Any) -> dict[str, Any]:
    """The version's plan on record for the installed libraries; compiled, checked and stored now (as the
    daemon does when it loads the version) when its pipeline has a plan form and none is stored yet."""
    from appliance.plans.storage import plan_on_record
    from appliance.serving.engine_report import serving_engine
    from appliance.serving.version_loading import scoring_engine

    label = f"{row['model_name']} v{row['version']}"
    if row["task"] == "multiclass":
        raise NoScoringPlan(f"{label} has no scoring plan to export: a multiclass version has no plan form; {NEEDED}")
    record = plan_on_record(ctx.store, row["artifact_sha256"])
    if record is None:
        scoring_engine(ctx, row, features, contract)
        record = plan_on_record(ctx.store, row["artifact_sha256"])
    if record is None:
        why = str(serving_engine(ctx, row)["detail"]).removeprefix("no scoring plan: ")
        raise NoScoringPlan(f"{label} has no scoring plan to export ({why}); {NEEDED}")
    return record


def _plan_bytes(home_root: Path, record: dict[str, Any], label: str) -> bytes:
    try:
        data = (home_root / record["plan_path"]).read_bytes()
    except OSError as e:
        raise ArtifactError(f"the scoring plan of {label} is missing from the home ({e}); restore a backup") from e
    if hashlib.sha256(data).hexdigest() != record["plan_sha256"]:
        raise ArtifactError(f"the scoring plan of {label} does not match its recorded sha256; it was changed on disk "
                            "and is not exported")
    return data


def _lineage(row: dict[str, Any], record: dict[str, Any], actor: str) -> dict[str, Any]:
    checked_with = dict(item.split("==", 1) for item in str(record["environment"]).split() if "==" in item)
    return {"model": row["model_name"], "version": int(row["version"]), "task": row["task"],
            "threshold": row["threshold"], "positive_class": row["positive_class"], "classes": row.get("classes"),
            "target": row["target"], "estimator": row["estimator"], "snapshot_id": row["snapshot_id"],
            "snapshot_rows": row["snapshot_rows"], "spec_sha256": row["spec_sha256"],
            "artifact_sha256": row["artifact_sha256"], "plan_sha256": record["plan_sha256"],
            "plan_format": record["plan_format"], "plan_checked_rows": record["checked_rows"],
            "checked_with": checked_with, "created_by": row["created_by"], "created_at": row["created_at"],
            "exported_by": actor, "exported_at": utc_now().isoformat(), "box": socket.gethostname()}


def _write(target: Path, files: dict[str, bytes]) -> None:
    """Every file into a private folder beside `target`, fsynced, then renamed onto `target` (new, or an
    empty directory: the rename replaces it, and fails if a file appeared in it meanwhile)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    try:
        for name, data in files.items():
            with (scratch / name).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        try:
            os.rename(scratch, target)
        except OSError as e:
            raise OutputRefused(f"{target} is no longer new or empty; nothing was exported") from e
    finally:
        if scratch.exists():
            for leftover in scratch.iterdir():
                leftover.unlink()
            scratch.rmdir()
