"""SQL of stored check results as a reader sees them: a model's latest monitor runs and their observations."""

from __future__ import annotations

from typing import Any

from appliance.store.connection import Store


def latest_monitor_runs(store: Store, model_name: str, limit: int) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM monitor_runs WHERE model_name = ? ORDER BY run_id DESC LIMIT ?",
                      [model_name, limit])


def run_observations(store: Store, run_id: int) -> list[dict[str, Any]]:
    """A monitor run's observations (drift, quality, outcomes, estimates, system), by source, metric, subject."""
    return store.rows("SELECT source, metric, subject, value FROM monitor_observations WHERE run_id = ? "
                      "ORDER BY source, metric, subject", [run_id])
