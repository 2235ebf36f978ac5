"""Retention: logged inputs and rejected-request bodies older than the configured age are deleted.

The prediction log's rows (outputs, versions, latencies) and every aggregate — drift results,
monitoring observations, alerts — are kept: they are small and they are the history auditors read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appliance.clock import utc_now
from appliance.context import AppContext
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q


def prune(ctx: AppContext, days: int) -> dict[str, Any]:
    cutoff = utc_now() - timedelta(days=days)
    deleted: dict[str, int] = {}
    with ctx.store.transaction():
        for model in q.list_models(ctx.store):
            deleted[model["name"]] = pq.prune_inputs(ctx.store, model["name"], cutoff)
        rejected = pq.prune_rejections(ctx.store, cutoff)
        q.insert_audit(ctx.store, utc_now(), "vigil-retention", "retention.delete", None, None,
                       {"cutoff": cutoff, "inputs_deleted": deleted, "rejections_deleted": rejected, "days": days})
    return {"cutoff": cutoff, "inputs_deleted": deleted, "rejections_deleted": rejected}
