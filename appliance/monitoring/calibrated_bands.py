"""The drift bands a check judges each feature by: the fixed bands of `monitoring.*`, or — with
`monitoring.false_page_budget_days` — each feature's own thresholds calibrated to that budget
(appliance/monitoring/calibration.py), stored per version in `drift_calibrations`.

A calibration depends on the window's size (chance drift shrinks as windows grow), so it is made for
the check's row count rounded down to a step of a factor sqrt(2) (a smaller window is noisier: the
thresholds err high), on first use, from the version's training rows in time order; later checks of
similar windows reuse it. Unless `calibration_may_lower` is set, a threshold never goes below its
fixed band (`floored`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.core.windows import parse_window
from appliance.home.context import AppContext
from appliance.monitoring.calibration import Budget, chance_thresholds
from appliance.monitoring.drift import Bands
from appliance.monitoring.profile import NumericProfile, Profile
from appliance.store import calibration_queries as cq

METRICS = ("psi", "js")


@dataclass(frozen=True, slots=True)
class FeatureBands:
    """The bands a feature was judged by, and where they came from."""

    bands: Bands
    judged_by: str  # fixed or calibrated
    method: str | None = None  # the calibration's method (empirical, modelled, analytic); None when fixed
    lowered: bool = False  # a calibrated threshold is below its fixed band

    def as_dict(self, fixed: Bands) -> dict[str, Any]:
        return {"judged_by": self.judged_by, "method": self.method, "lowered": self.lowered,
                "psi_warning": self.bands.psi_warning, "psi_critical": self.bands.psi_critical,
                "js_warning": self.bands.js_warning, "js_critical": self.bands.js_critical,
                "fixed": {"psi_warning": fixed.psi_warning, "psi_critical": fixed.psi_critical,
                          "js_warning": fixed.js_warning, "js_critical": fixed.js_critical}}


def window_bucket(rows: int) -> int:
    """The largest step of the series 2^(k/2) (rounded down) not above `rows`: calibrations are shared by
    windows of similar size, and the smaller size gives the higher (safer) thresholds."""
    if rows < 2:
        return 1
    step = math.floor(2 * math.log2(rows))
    while int(2 ** (step / 2)) > rows:
        step -= 1
    return int(2 ** (step / 2))


def checks_per_day(ctx: AppContext) -> float:
    return 86400.0 / parse_window(ctx.config.jobs.monitor_every).total_seconds()


def feature_bands(ctx: AppContext, row: dict[str, Any], profiles: dict[str, Profile], names: list[str],
                  window_rows: int, reference: Callable[[], pl.DataFrame] | None) -> dict[str, FeatureBands]:
    """Each named feature's bands for a check of `window_rows` rows. `reference` loads the version's
    training rows in time order; None (a reference window of traffic) means the fixed bands."""
    configured = ctx.config.monitoring.bands_for(row["model_name"])
    fixed = Bands(configured.psi_warning, configured.psi_critical, configured.js_warning, configured.js_critical)
    budget_days = configured.false_page_budget_days
    if budget_days is None or reference is None or not names:
        return {name: FeatureBands(fixed, "fixed") for name in names}
    inputs = dict(model_name=row["model_name"], version=int(row["version"]), window_rows=window_bucket(window_rows),
                  budget_days=float(budget_days), checks_per_day=checks_per_day(ctx),
                  may_lower=configured.calibration_may_lower)
    stored = _matching(cq.find_calibrations(ctx.store, **inputs), fixed, names)
    if stored is None:
        stored = _calibrate(profiles, names, reference(), fixed, inputs)
        if not ctx.store.read_only:
            with ctx.store.transaction():
                cq.store_calibrations(ctx.store, stored)
    return _bands_of(stored, fixed, names)


def _matching(rows: list[dict[str, Any]], fixed: Bands, names: list[str]) -> list[dict[str, Any]] | None:
    """The stored rows if they cover every feature and metric at today's fixed bands."""
    found = {(r["feature"], r["metric"]): r for r in rows}
    for name in names:
        for metric in METRICS:
            stored = found.get((name, metric))
            if stored is None or (stored["fixed_warning"], stored["fixed_critical"]) != _fixed(fixed, metric):
                return None
    return [found[(name, metric)] for name in names for metric in METRICS]


def _fixed(fixed: Bands, metric: str) -> tuple[float, float]:
    return (fixed.psi_warning, fixed.psi_critical) if metric == "psi" else (fixed.js_warning, fixed.js_critical)


def _calibrate(profiles: dict[str, Profile], names: list[str], reference: pl.DataFrame, fixed: Bands,
               inputs: dict[str, Any]) -> list[dict[str, Any]]:
    budget = Budget(inputs["budget_days"], inputs["checks_per_day"], tests=len(names) * len(METRICS))
    now = utc_now()
    rows = []
    for name in names:
        codes, bins = reference_codes(profiles[name], reference[name]) if name in reference.columns else (None, 0)
        for metric in METRICS:
            rows.append(_calibrated_row(codes, bins, metric, budget, fixed, inputs, name, reference.height, now))
    return rows


def _calibrated_row(codes: np.ndarray | None, bins: int, metric: str, budget: Budget, fixed: Bands,
                    inputs: dict[str, Any], name: str, reference_rows: int, now: Any) -> dict[str, Any]:
    fixed_warning, fixed_critical = _fixed(fixed, metric)
    row = {**inputs, "feature": name, "metric": metric, "fixed_warning": fixed_warning,
           "fixed_critical": fixed_critical, "reference_rows": reference_rows, "computed_at": now}
    if codes is None:
        return {**row, "warning": fixed_warning, "critical": fixed_critical, "chance_warning": None,
                "chance_critical": None, "method": "fixed", "floored": False, "lowered": False, "chunks": 0,
                "wander": None, "degrees_freedom": 0}
    warning, critical = chance_thresholds(codes, bins, inputs["window_rows"],
                                          (budget.warning_rate, budget.critical_rate), metric)
    if critical.method == "fixed":
        chosen = (fixed_warning, fixed_critical)
    elif inputs["may_lower"]:
        chosen = (warning.value, critical.value)
    else:
        chosen = (max(warning.value, fixed_warning), max(critical.value, fixed_critical))
    usable = critical.method != "fixed"
    return {**row, "warning": chosen[0], "critical": chosen[1],
            "chance_warning": warning.value if usable else None, "chance_critical": critical.value if usable else None,
            "method": critical.method,
            "floored": usable and (chosen[0] > warning.value or chosen[1] > critical.value),
            "lowered": chosen[0] < fixed_warning or chosen[1] < fixed_critical,
            "chunks": critical.chunks, "wander": critical.wander, "degrees_freedom": critical.degrees_freedom}


def reference_codes(profile: Profile, column: pl.Series) -> tuple[np.ndarray, int]:
    """Each reference row's bin as the drift check bins it, and the number of bins: numeric quantile bins
    (a value on an edge goes left) then missing; categorical known categories, unseen, missing."""
    if isinstance(profile, NumericProfile):
        values = column.cast(pl.Float64).fill_null(float("nan")).to_numpy()
        present = ~np.isnan(values)
        codes = np.full(len(values), len(profile.edges) + 1, dtype=np.int64)
        codes[present] = np.searchsorted(profile.edges, values[present], side="left")
        return codes, len(profile.edges) + 2
    index = {value: i for i, value in enumerate(profile.known)}
    unseen, missing = len(profile.known), len(profile.known) + 1
    texts = column.cast(pl.String).to_list()
    codes = np.array([missing if v is None else index.get(v, unseen) for v in texts], dtype=np.int64)
    return codes, len(profile.known) + 2


def _bands_of(rows: list[dict[str, Any]], fixed: Bands, names: list[str]) -> dict[str, FeatureBands]:
    found = {(r["feature"], r["metric"]): r for r in rows}
    result = {}
    for name in names:
        psi, js = found[(name, "psi")], found[(name, "js")]
        if psi["method"] == "fixed" and js["method"] == "fixed":
            result[name] = FeatureBands(fixed, "fixed")
            continue
        bands = Bands(psi["warning"], psi["critical"], js["warning"], js["critical"])
        result[name] = FeatureBands(bands, "calibrated", psi["method"], bool(psi["lowered"] or js["lowered"]))
    return result


def threshold_rows(run_id: int, bands: dict[str, FeatureBands]) -> list[tuple[Any, ...]]:
    """`drift_thresholds` rows of a run: which thresholds judged each feature."""
    return [(run_id, name, b.judged_by, b.method, b.bands.psi_warning, b.bands.psi_critical, b.bands.js_warning,
             b.bands.js_critical) for name, b in bands.items()]
