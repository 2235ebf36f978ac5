"""A spot check of a cluster run's answers: a random sample of its answered rows scored again on the box.

The manifest names the plan a run claims it was scored with, but whoever writes the run's directory can
write any score beside any input. Before a run's rows are imported, up to `SAMPLE_ROWS` of them, drawn
at random (the operating system's randomness, so a forger cannot know which) from one random row group
of up to `SAMPLE_FILES` random predictions files, are scored again from their logged inputs with this
box's own copy of that plan (its bytes checked against the sha256 on record). A score or prediction that
is not the plan's, bit for bit, refuses the run. Rows the box would refuse now (the contract may have
moved since the run) are left out of the comparison, not counted against it.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np

from appliance.errors import RunRefused
from appliance.serving.run_manifest import CheckedRun
from appliance.store import run_import_queries as rq

SAMPLE_ROWS = 1_000
SAMPLE_FILES = 8


def spot_check(ctx: Any, run: CheckedRun, version_row: dict[str, Any]) -> int:
    """Re-score a random sample of the run's answered rows (see the module's text); the rows compared."""
    import pyarrow as pa

    if not run.predictions:
        return 0
    plan = _box_plan(ctx, run, version_row)
    chance = random.SystemRandom()
    files = chance.sample(run.predictions, min(SAMPLE_FILES, len(run.predictions)))
    compared = 0
    for path in files:
        rows = _sample(path, chance, SAMPLE_ROWS // len(files) + 1)
        if rows is None:
            continue
        struct = rows.column("input").combine_chunks()
        inputs = pa.Table.from_arrays(struct.flatten(), names=[f.name for f in struct.type])
        answers = plan.score(inputs, with_inputs=False)
        compared += _compare(run, rows, answers)
    return compared


def _sample(path: Any, chance: random.SystemRandom, count: int) -> Any:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(str(path))
    groups = parquet.metadata.num_row_groups
    if not groups:
        return None
    group = parquet.read_row_group(chance.randrange(groups), columns=["input", "input_row", "prediction", "score"])
    if not group.num_rows:
        return None
    return group.take(sorted(chance.sample(range(group.num_rows), min(count, group.num_rows))))


def _compare(run: CheckedRun, rows: Any, answers: Any) -> int:
    answered = ~np.asarray(answers.column("rejected").to_numpy(zero_copy_only=False), dtype=bool)
    for column in ("score", "prediction"):
        theirs = rows.column(column).to_numpy(zero_copy_only=False).astype(float)
        ours = answers.column(column).to_numpy(zero_copy_only=False).astype(float)
        differ = answered & ~((theirs == ours) | (np.isnan(theirs) & np.isnan(ours)))
        if differ.any():
            at = int(np.flatnonzero(differ)[0])
            row = rows.column("input_row")[at].as_py()
            raise RunRefused(f"row {row} of run {run.manifest.run_id} has {column} {theirs[at]!r}, but this box's copy "
                             f"of plan {run.manifest.plan_sha256[:16]} gives {ours[at]!r} for its inputs: the run's "
                             "answers are not its plan's; nothing imported")
    return int(answered.sum())


def _box_plan(ctx: Any, run: CheckedRun, version_row: dict[str, Any]) -> Any:
    """This box's copy of the run's plan, as a PortablePlan under the version's current contract (policies
    that flag rather than refuse, so as many sampled rows as possible are compared)."""
    from appliance.contracts.features import features_from_json
    from appliance.plans.batch_checks import Policy
    from appliance.plans.plan import ScoringPlan
    from appliance.plans.portable import PortablePlan
    from appliance.registry.contracts import current_contract

    manifest = run.manifest
    relative = rq.plan_path(ctx.store, manifest.plan_sha256)
    data = (ctx.home.root / relative).read_bytes() if relative else b""
    if hashlib.sha256(data).hexdigest() != manifest.plan_sha256:
        raise RunRefused(f"this box's copy of plan {manifest.plan_sha256[:16]} is missing or changed on disk, so "
                         f"run {manifest.run_id}'s answers cannot be checked; nothing imported")
    revision, contract = current_contract(ctx.store, manifest.model, manifest.version)
    return PortablePlan(
        model=manifest.model, version=manifest.version, task=str(version_row["task"]),
        threshold=version_row["threshold"], classes=tuple(version_row.get("classes") or ()),
        features=tuple(features_from_json(version_row["features"])),
        contract=contract.model_dump(mode="json")["columns"], contract_revision=revision,
        policy=Policy("flag", "flag"), lineage={}, key_id="", plan=ScoringPlan.from_bytes(data))
