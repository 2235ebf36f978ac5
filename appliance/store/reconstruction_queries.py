"""SQL of multivariate drift: each version's fitted reconstruction reference, and the stored
per-window results (feature '(multivariate)' in `drift_results`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store

MULTIVARIATE = "(multivariate)"

_PIVOT = """
    SELECT d.run_id, d.version, d.window_start, d.window_end, d.current_rows, any_value(r.verdict) AS verdict,
           max(r.value) FILTER (WHERE r.metric = 'reconstruction_error') AS reconstruction_error,
           max(r.value) FILTER (WHERE r.metric = 'lower_threshold') AS lower_threshold,
           max(r.value) FILTER (WHERE r.metric = 'upper_threshold') AS upper_threshold,
           max(r.value) FILTER (WHERE r.metric = 'sampling_error') AS sampling_error,
           max(r.value) FILTER (WHERE r.metric = 'reconstruction_sigmas') AS reconstruction_sigmas
    FROM drift_runs d JOIN drift_results r USING (run_id)
    WHERE r.feature = '(multivariate)' AND r.segment_column IS NULL AND d.model_name = ? {where}
    GROUP BY d.run_id, d.version, d.window_start, d.window_end, d.current_rows
"""


def find_reference(store: Store, model_name: str, version: int, fit_format: int) -> dict[str, Any] | None:
    return store.row("SELECT * FROM reconstruction_references WHERE model_name = ? AND version = ? "
                     "AND fit_format = ?", [model_name, version, fit_format])


def upsert_reference(store: Store, row: dict[str, Any]) -> None:
    store.execute("INSERT OR REPLACE INTO reconstruction_references VALUES ($model_name, $version, $fit_format, "
                  "$fit_sha256, $fit_path, $fit_bytes, $reference_rows, $components, $created_at)", row)


def recent_results(store: Store, model_name: str, runs: int) -> list[dict[str, Any]]:
    """The model's last `runs` multivariate results, oldest first."""
    return list(reversed(store.rows(_PIVOT.format(where="") + " ORDER BY d.run_id DESC LIMIT ?",
                                    [model_name, runs])))


def results_between(store: Store, model_name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The model's multivariate results of windows ending in [start, end), oldest first."""
    return store.rows(_PIVOT.format(where="AND d.window_end >= ? AND d.window_end < ?") + " ORDER BY d.window_end",
                      [model_name, start, end])
