"""Compile and check a plan, write it beside the artifacts, record it, and find it again.

A plan is found by its artifact's sha256, the plan format and the installed scikit-learn, NumPy and
SciPy versions, and read only if its own sha256 matches the record. Anything missing, damaged or
stale is reported as "no plan": the caller recompiles from the (hash-checked) artifact.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from appliance.clock import utc_now
from appliance.contracts.contract import Contract
from appliance.contracts.features import Feature
from appliance.core.blobs import BlobWriter
from appliance.core.records import PlanRecord
from appliance.plans.plan import FORMAT, ScoringPlan
from appliance.plans.probes import probe_rows
from appliance.store import plan_queries as pq
from appliance.store.connection import Store

log = logging.getLogger("vigil.plans")
SUFFIX = ".plan.npz"
SAMPLE_ROWS = 2000


@lru_cache(maxsize=1)
def environment() -> str:
    """The installed versions a plan was checked against: a plan of a booster answered as that version
    of its library did, so an upgrade of any of these recompiles and re-checks it."""
    from appliance.boosters.libraries import LIBRARIES, installed_version

    versions = [f"{name}=={metadata.version(name)}" for name in ("scikit-learn", "numpy", "scipy")]
    versions += [f"{name}=={installed_version(name)}" for name in LIBRARIES if installed_version(name)]
    return " ".join(versions)


def compile_checked(model: Any, features: list[Feature], task: str, contract: Contract,
                    sample: pl.DataFrame | None = None) -> tuple[ScoringPlan, int] | None:
    """A plan that answered exactly as `model` on probe rows and up to 2,000 sample rows, or None."""
    return check_plan(model, features, task, contract, sample)[0]


def check_plan(model: Any, features: list[Feature], task: str, contract: Contract,
               sample: pl.DataFrame | None = None) -> tuple[tuple[ScoringPlan, int] | None, str]:
    """`compile_checked`, with the reason when there is no plan (shown by `vigil show`)."""
    from appliance.plans.compile import answers_alike, explain_plan

    plan, why = explain_plan(model, features, task)
    if plan is None:
        return None, why
    frames = [probe_rows(features, contract)]
    if sample is not None and sample.height:
        frames.append(sample.head(SAMPLE_ROWS))
    for frame in frames:
        if not answers_alike(plan, model, frame, features, task):
            log.warning("a compiled plan disagreed with its pipeline; the pipeline serves")
            return None, f"its compiled plan did not answer exactly as the model on {frame.height} check rows"
    return (plan, sum(f.height for f in frames)), ""


def plan_on_record(store: Store, artifact_sha256: str) -> dict[str, Any] | None:
    """The stored plan's record (format and environment as installed), without reading the plan."""
    return pq.find(store, artifact_sha256, FORMAT, environment())


def write_plan(writer: BlobWriter, plan: ScoringPlan, checked_rows: int) -> PlanRecord:
    return PlanRecord(writer.put_bytes("artifacts", plan.to_bytes(), SUFFIX), checked_rows)


def record_plan(store: Store, artifact_sha256: str, record: PlanRecord) -> None:
    pq.upsert(store, artifact_sha256, FORMAT, environment(), record.blob.sha256, record.blob.relative_path,
              record.blob.size_bytes, record.checked_rows, utc_now())


def find_plan(store: Store, home_root: Path, artifact_sha256: str) -> ScoringPlan | None:
    row = pq.find(store, artifact_sha256, FORMAT, environment())
    if row is None:
        return None
    path = home_root / row["plan_path"]
    try:
        data = path.read_bytes()
    except OSError:
        log.warning("scoring plan %s is missing; recompiling from the artifact", path)
        return None
    if hashlib.sha256(data).hexdigest() != row["plan_sha256"]:
        log.warning("scoring plan %s does not match its recorded sha256; recompiling from the artifact", path)
        return None
    try:
        return ScoringPlan.from_bytes(data)
    except (ValueError, KeyError, OSError) as e:
        log.warning("scoring plan %s cannot be read (%s); recompiling from the artifact", path, e)
        return None
