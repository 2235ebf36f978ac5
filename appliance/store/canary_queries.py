"""What canary analysis reads: when the canary started and what it and the champion answered since."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def canary_since(store: Store, model_name: str, canary: int) -> datetime:
    """When the canary alias last moved to this version (an alias is set by a deployment row)."""
    return store.scalar("SELECT max(changed_at) FROM deployments WHERE model_name = ? AND alias = 'canary' "
                        "AND to_version = ?", [model_name, canary])


def answered(store: Store, model_name: str, versions: tuple[int, int], start: datetime,
             end: datetime) -> list[dict[str, Any]]:
    """One row per (version, request) answered on the champion or canary route in [start, end): its
    latency and, per scored row, its score, prediction and (multiclass) every class's probability."""
    return store.rows(
        "SELECT version, request_id, any_value(latency_ms) AS latency_ms, list(score ORDER BY row_index) AS scores, "
        "list(prediction ORDER BY row_index) AS predictions, "
        "list(probabilities ORDER BY row_index) AS probabilities FROM prediction_log "
        "WHERE model_name = ? AND route IN ('champion', 'canary') AND logged_at >= ? AND logged_at < ? "
        "AND version IN (?, ?) GROUP BY version, request_id",
        [model_name, start, end, *versions])
