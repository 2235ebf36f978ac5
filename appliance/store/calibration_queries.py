"""SQL of calibrated drift thresholds (`drift_calibrations`) and of the thresholds that judged a drift
run (`drift_thresholds`)."""

from __future__ import annotations

from typing import Any

from appliance.store.connection import Store

CALIBRATION_COLUMNS = (
    "model_name", "version", "window_rows", "budget_days", "checks_per_day", "fixed_warning", "fixed_critical",
    "may_lower", "feature", "metric", "warning", "critical", "chance_warning", "chance_critical", "method",
    "floored", "lowered", "chunks", "wander", "degrees_freedom", "reference_rows", "computed_at")
THRESHOLD_COLUMNS = ("run_id", "feature", "judged_by", "method", "psi_warning", "psi_critical", "js_warning",
                     "js_critical")


def find_calibrations(store: Store, model_name: str, version: int, window_rows: int, budget_days: float,
                      checks_per_day: float, may_lower: bool) -> list[dict[str, Any]]:
    """Every feature's and metric's calibrated thresholds stored for these inputs (any fixed bands)."""
    return store.rows(
        "SELECT * FROM drift_calibrations WHERE model_name = ? AND version = ? AND window_rows = ? "
        "AND budget_days = ? AND checks_per_day = ? AND may_lower = ? ORDER BY feature, metric",
        [model_name, version, window_rows, budget_days, checks_per_day, may_lower])


def store_calibrations(store: Store, rows: list[dict[str, Any]]) -> None:
    """Insert (or replace) calibrated thresholds; call inside a transaction."""
    placeholders = ", ".join(f"${c}" for c in CALIBRATION_COLUMNS)
    for row in rows:
        store.execute(f"INSERT OR REPLACE INTO drift_calibrations ({', '.join(CALIBRATION_COLUMNS)}) "
                      f"VALUES ({placeholders})", row)


def version_calibrations(store: Store, model_name: str, version: int) -> list[dict[str, Any]]:
    """A version's calibrated thresholds, newest calibration first."""
    return store.rows("SELECT * FROM drift_calibrations WHERE model_name = ? AND version = ? "
                      "ORDER BY computed_at DESC, feature, metric", [model_name, version])


def insert_thresholds(store: Store, rows: list[tuple[Any, ...]]) -> None:
    """The thresholds that judged each feature of a run: tuples in THRESHOLD_COLUMNS order."""
    if rows:
        store.append_rows("drift_thresholds", list(THRESHOLD_COLUMNS), rows)


def run_thresholds(store: Store, run_id: int) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM drift_thresholds WHERE run_id = ? ORDER BY feature", [run_id])
