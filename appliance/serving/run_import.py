"""`vigil log import DIR`: a cluster run's scored rows into the prediction log, as `vigil score` logs its own.

A run (`appliance.plans.run_files`; the Spark recipe `appliance.plans.spark_recipe` makes one) is
brought home only whole, only once, and only when its plan is one of this box's:

1. The manifest is read as hostile input and every file checked against it (`run_manifest`): a run with a
   file missing, damaged, added, or reached through a symlink is refused, naming each, before anything
   is written.
2. Its plan's sha256 must be the plan of a version registered here, and that version must be the one the
   manifest names; the rows must all name that version and the run, and their input rows must be
   distinct and within the run's input.
   A random sample of its answered rows is scored again with this box's copy of the plan
   (`run_spot_check`): an answer that is not the plan's, bit for bit, refuses the run.
3. A run imported before (its audit row is the record) adds nothing: the answer says so.
4. In one transaction: its answered rows go into `prediction_log` (route and API `batch`, request id = the
   run id, row index = the row's position in the run's input, latency = its file's scoring seconds per
   row, the time of import as `logged_at`, event time from the model's `serving.event_time_column` when
   the rows carry it), their inputs into the model's input table (all, or the share
   `monitoring.imported_inputs_share` a hash of the run id and row chooses), and one audit row naming the caller.
   The files are checked again before the commit; anything wrong rolls it all back.

So labels (`vigil labels load`, by request id = run id and row index), drift, quality, outcomes, reports and
the lake export cover the run's rows as they cover a local batch's. Its refused rows stay in its
`rejects` files (counted in the audit row), as `vigil score`'s stay in its rejects file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from appliance.clock import utc_now
from appliance.errors import RunRefused
from appliance.serving import run_manifest as checks
from appliance.serving.run_spot_check import spot_check
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q
from appliance.store import run_import_queries as rq


def import_run(ctx: Any, directory: Path, actor: str) -> dict[str, Any]:
    """Bring the run in `directory` into the prediction log (see the module's text)."""
    from appliance.contracts.features import features_from_json
    from appliance.registry.versions import get_version

    began = time.perf_counter()
    root = directory.resolve()
    if not root.is_dir():
        raise RunRefused(f"{directory} is not a directory holding a cluster run; nothing imported")
    manifest = checks.read_manifest(root)
    summary = {"run_id": manifest.run_id, "directory": str(root), "model": manifest.model,
               "version": manifest.version, "plan_sha256": manifest.plan_sha256}
    if rq.imported_before(ctx.store, manifest.run_id):
        return {**summary, "imported": 0, "already_imported": True, "rejected": manifest.rows_rejected}
    _check_plan(ctx, manifest)
    run = checks.check_files(root, manifest)
    version_row = get_version(ctx.store, manifest.model, manifest.version)
    features = features_from_json(version_row["features"])
    checks.check_columns(run, [f.name for f in features])
    _check_rows(ctx, run)
    spot_checked = spot_check(ctx, run, version_row)
    if rq.rows_with_request_id(ctx.store, manifest.run_id):
        raise RunRefused(f"the prediction log holds rows of request id {manifest.run_id} already, not from an import "
                         "of this run; nothing imported")
    event_column = _event_column(ctx, manifest.model, run)
    share = ctx.config.monitoring.bands_for(manifest.model).imported_inputs_share
    inputs_kept = 0
    with ctx.store.transaction():
        pq.ensure_inputs_table(ctx.store, manifest.model, features)
        if run.predictions:
            rq.insert_log_rows(ctx.store, run.predictions, run.seconds_per_row_ms(), manifest.run_id, manifest.model,
                               manifest.version, utc_now(), event_column)
            inputs_kept = rq.insert_input_rows(ctx.store, run.predictions, manifest.run_id, manifest.model, features,
                                               share)
        checks.recheck(run)
        seconds = time.perf_counter() - began
        result = {**summary, "imported": manifest.rows_scored, "already_imported": False,
                  "rejected": manifest.rows_rejected, "rows_in": manifest.rows_in, "key_id": manifest.key_id,
                  "files": len(manifest.files), "event_time_column": event_column, "spot_checked": spot_checked,
                  "inputs_kept": inputs_kept, "inputs_share": share,
                  "seconds": seconds,
                  "rows_per_s": manifest.rows_scored / seconds if seconds else None}
        q.insert_audit(ctx.store, utc_now(), actor, "log.import", manifest.model, manifest.version,
                       {**result, "started_at": manifest.started_at, "finished_at": manifest.finished_at,
                        "inputs": [i.path for i in manifest.inputs[:20]]},
                       subject=f"run:{manifest.run_id}",
                       after={"imported": manifest.rows_scored, "rejected": manifest.rows_rejected})
    return result


def _check_plan(ctx: Any, manifest: checks.RunManifest) -> None:
    """The run's plan must be the plan of a version registered here, and of the version the manifest names."""
    versions = rq.plan_versions(ctx.store, manifest.plan_sha256)
    claimed = (manifest.model, manifest.version)
    if not versions:
        raise RunRefused(f"run {manifest.run_id} was scored by plan {manifest.plan_sha256[:16]}, which is not the plan "
                         f"of any version registered on this box (it names {manifest.model} v{manifest.version}); "
                         "import it on the box that exported the plan; nothing imported")
    if claimed not in versions:
        held = ", ".join(f"{model} v{version}" for model, version in versions)
        raise RunRefused(f"run {manifest.run_id} names {manifest.model} v{manifest.version}, but its plan "
                         f"{manifest.plan_sha256[:16]} is the plan of {held} here; nothing imported")


def _check_rows(ctx: Any, run: checks.CheckedRun) -> None:
    """Every row names this run and version, once, at a position within the run's input."""
    manifest = run.manifest
    paths = [*run.predictions, *run.rejects]
    if not paths:
        return
    found = rq.row_summary(ctx.store, paths)
    if found["run_ids"] != [manifest.run_id] or found["models"] != [manifest.model] or \
            found["versions"] != [manifest.version]:
        raise RunRefused(f"the files of run {manifest.run_id} hold rows of runs {found['run_ids'][:3]}, models "
                         f"{found['models'][:3]}, versions {found['versions'][:3]}, not only of this run and "
                         f"{manifest.model} v{manifest.version}; nothing imported")
    if found["distinct_rows"] != found["rows"] or found["first_row"] < 0 or found["last_row"] >= manifest.rows_in:
        raise RunRefused(f"the files of run {manifest.run_id} number their rows from {found['first_row']} to "
                         f"{found['last_row']} with {found['rows'] - found['distinct_rows']} repeated; each of its "
                         f"{manifest.rows_in} input rows must appear once; nothing imported")


def _event_column(ctx: Any, model_name: str, run: checks.CheckedRun) -> str | None:
    """The model's configured event-time column, when the run's rows carry it among their inputs."""
    import pyarrow.parquet as parquet

    configured = ctx.config.serving.policy_for(model_name).event_time_column
    if not configured or not run.predictions:
        return None
    struct = parquet.read_schema(str(run.predictions[0])).field("input").type
    return configured if configured in {struct.field(i).name for i in range(struct.num_fields)} else None
