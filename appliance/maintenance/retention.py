"""Retention: logged inputs older than N days, and artifacts of versions archived more than M days ago.

- Logged inputs and rejected-request bodies older than `retention_days` are deleted, except what an
  audit hold covers: a request's inputs stay while any of its prediction-log rows (champion, shadow,
  canary) belongs to a held version or model, and a model under any hold keeps its rejected bodies.
  The prediction log's rows (outputs, versions, latencies), feedback, snapshots, reports and every
  aggregate — rollups, drift results, monitoring observations, alerts — are never deleted: they are
  small and they are the history auditors read.
- An artifact (and its scoring plans) is deleted when every version using it was archived — no alias
  points at it and a newer version exists — more than `artifact_retention_days` ago, and none of
  those versions is named by a pending promotion request or under an audit hold. The version rows,
  the artifact's hash and the audit trail stay; the version can no longer serve.

Each deletion is recorded and audited in a transaction before any file is removed; files whose
removal a crash interrupted are removed by the next run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.store import registry_queries as q
from appliance.store import retention_queries as rq

ACTOR = "vigil-retention"


def prune(ctx: AppContext, days: int, artifact_days: int | None = None, *, actor: str = ACTOR,
          dry_run: bool = False) -> dict[str, Any]:
    """Apply both policies (`artifact_days` None: inputs only). A dry run reports and changes nothing."""
    inputs = _prune_inputs(ctx, days, actor, dry_run)
    artifacts: dict[str, Any] = {"deleted": [], "cutoff": None}
    if artifact_days is not None:
        artifacts = _prune_artifacts(ctx, artifact_days, actor, dry_run)
    return {**inputs, "artifacts": artifacts, "dry_run": dry_run}


def _prune_inputs(ctx: AppContext, days: int, actor: str, dry_run: bool) -> dict[str, Any]:
    cutoff = utc_now() - timedelta(days=days)
    deleted: dict[str, int] = {}
    with ctx.store.transaction():
        for model in q.list_models(ctx.store):
            deleted[model["name"]] = rq.prune_inputs(ctx.store, model["name"], cutoff, count_only=dry_run)
        rejected = rq.prune_rejections(ctx.store, cutoff, count_only=dry_run)
        if not dry_run:
            q.insert_audit(ctx.store, utc_now(), actor, "retention.delete", None, None,
                           {"cutoff": cutoff, "inputs_deleted": deleted, "rejections_deleted": rejected,
                            "days": days},
                           subject="logged_inputs", before={"inputs": deleted, "rejections": rejected}, after=None,
                           reason=f"logged before {cutoff:%Y-%m-%d %H:%M} ({days} days); held versions and models kept")
    return {"cutoff": cutoff, "inputs_deleted": deleted, "rejections_deleted": rejected}


def _prune_artifacts(ctx: AppContext, days: int, actor: str, dry_run: bool) -> dict[str, Any]:
    cutoff = utc_now() - timedelta(days=days)
    deleted: list[dict[str, Any]] = []
    for found in rq.deletable_artifacts(ctx.store, cutoff):
        files = [found["path"], *rq.plan_files(ctx.store, found["sha256"])]
        entry = {"sha256": found["sha256"], "versions": found["versions"], "files": files,
                 "bytes": int(found["size_bytes"]), "archived_since": found["archived_since"]}
        deleted.append(entry)
        if dry_run:
            continue
        reason = (f"archived since {found['archived_since']:%Y-%m-%d %H:%M}, over {days} days; "
                  "no alias, pending request or audit hold")
        first = found["versions"][0].rsplit(" v", 1)
        with ctx.store.transaction():
            if not rq.deletable_artifacts(ctx.store, cutoff, found["sha256"]):
                deleted.pop()  # a hold, request or alias arrived since the listing
                continue
            at = utc_now()
            rq.record_deletion(ctx.store, found["sha256"], at, actor, reason, files)
            q.insert_audit(ctx.store, at, actor, "retention.delete_artifact", first[0],
                           int(first[1]) if len(found["versions"]) == 1 else None,
                           {"artifact_sha256": found["sha256"], "versions": found["versions"]},
                           subject=f"artifact:{found['sha256']}",
                           before={"files": files, "bytes": int(found["size_bytes"]), "versions": found["versions"]},
                           after=None, reason=reason)
        _unlink(ctx, files)
    if not dry_run:
        _unlink(ctx, rq.deleted_files(ctx.store))  # any a crash left behind
    return {"cutoff": cutoff, "deleted": deleted}


def _unlink(ctx: AppContext, files: list[str]) -> None:
    for relative in files:
        (ctx.home.root / relative).unlink(missing_ok=True)
