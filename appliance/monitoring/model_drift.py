"""Drift of a served version: its training rows (the reference) against the inputs and scores it
answered in a period of the prediction log (the last window, or any past period, by event or arrival
time), per feature, per segment and for its predictions.
Results are stored in `drift_runs`, `drift_results` and `drift_explanations`.

The predictions compared are the score (binary, regression) or, for a multiclass version, the
predicted class and each class's probability (appliance/monitoring/class_outputs.py)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.core.periods import Period
from appliance.home.context import AppContext
from appliance.contracts.features import NUMERIC, Feature, features_from_json
from appliance.errors import MonitoringError
from appliance.monitoring.class_outputs import mean_shift, output_features, reference_frame, window_frame
from appliance.monitoring.calibrated_bands import feature_bands, threshold_rows
from appliance.monitoring.drift import Bands, ColumnDrift
from appliance.monitoring.profile import CategoricalProfile, NumericProfile, Profile
from appliance.monitoring.multivariate_check import MULTIVARIATE, judge
from appliance.monitoring.reference import find_profiles, store_profiles
from appliance.monitoring.training_rows import training_inputs
from appliance.registry.loading import load_version_model
from appliance.core.windows import parse_window
from appliance.registry.versions import get_version, require_model
from appliance.store import calibration_queries as calq
from appliance.store import drift_queries as dq
from appliance.store import registry_queries as q
from appliance.training.evaluation import scores_of

PREDICTION = "(prediction)"
MIN_SEGMENT_ROWS = 30
ORDER = {"ok": 0, "warning": 1, "critical": 2}
def check_model_drift(ctx: AppContext, model_name: str, period: Period, *, version: int | None, actor: str,
                      reference_window: str | None = None) -> dict[str, Any]:
    """Drift of the period's rows against the version's training rows, or against the `reference_window`
    of logged traffic that ends where the period starts (on the same axis)."""
    require_model(ctx.store, model_name)
    number = version if version is not None else q.aliases(ctx.store, model_name).get("champion")
    if number is None:
        raise MonitoringError(f"model '{model_name}' has no champion; pass --version N")
    row = get_version(ctx.store, model_name, number)
    features = features_from_json(row["features"])
    classes = classes_of(row)
    outputs = output_features(classes)
    start, end = period.start, period.end
    current = window_rows(ctx, row, period, features)
    if current.height == 0:
        raise MonitoringError(f"{model_name} v{number} answered no requests in {describe(period)}; "
                              "nothing to compare (choose a longer --window or another period)")
    if reference_window is None:
        profiles, reference_name = training_profiles(ctx, row, features), "training"
    else:
        before = period.before(parse_window(reference_window))
        reference = window_rows(ctx, row, before, features)
        reference_name = f"window {before.start:%Y-%m-%d %H:%M} .. {start:%Y-%m-%d %H:%M}"
        if reference.height == 0:
            raise MonitoringError(f"{model_name} v{number} answered no requests in the {reference_window} before the "
                                  "window; nothing to compare with (choose another --reference-window)")
        profiles = profiles_of(reference, features, row["segments"], outputs)
    configured = ctx.config.monitoring.bands_for(model_name)
    bands = Bands(configured.psi_warning, configured.psi_critical, configured.js_warning, configured.js_critical)
    names = [f.name for f in [*features, *outputs] if f.name in profiles and f.name in current.columns]
    judged = feature_bands(ctx, row, profiles, names, current.height,
                           (lambda: _reference(ctx, row, features)) if reference_window is None else None)
    whole = _drift_all(profiles, current, features, bands, None, outputs, {n: b.bands for n, b in judged.items()})
    segments = _segments(profiles, current, features, row["segments"], bands, outputs)
    shifts = _mean_shifts(profiles, current, outputs) if classes else {}
    worst = max((d.verdict for d in [*whole.values(), *(d for _, _, _, d in segments)]), key=ORDER.__getitem__)
    multivariate = judge(ctx, row, features, current, None if reference_window is None else reference)
    worst = max(worst, multivariate.verdict, key=lambda verdict: ORDER.get(verdict, -1))  # inconclusive: no say
    run = dict(model_name=model_name, version=number, reference=reference_name, window_start=start, window_end=end,
               current_rows=current.height, reference_rows=profiles[PREDICTION].rows, verdict=worst,
               computed_at=utc_now(), computed_by=actor, axis=period.axis)
    with ctx.store.transaction():
        run_id = dq.insert_run(ctx.store, run)
        rows = [r for name, d in whole.items() for r in _rows(run_id, run, name, None, None, d, shifts.get(name))]
        rows += [r for column, value, name, d in segments for r in _rows(run_id, run, name, column, value, d)]
        dq.insert_results(ctx.store, rows + multivariate.rows(run_id, run))
        dq.insert_explanation(ctx.store, run_id, MULTIVARIATE, None, None, multivariate.as_dict())
        for name, d in whole.items():
            dq.insert_explanation(ctx.store, run_id, name, None, None, {**d.as_dict(), **shifts.get(name, {})})
        calq.insert_thresholds(ctx.store, threshold_rows(run_id, judged))
    return {"run_id": run_id, **{k: v for k, v in run.items() if k not in ("computed_by",)},
            **({"classes": classes} if classes else {}),
            "features": {name: {**d.as_dict(), **shifts.get(name, {}), "thresholds": judged[name].as_dict(bands)}
                         for name, d in whole.items()},
            "false_page_budget_days": configured.false_page_budget_days,
            "multivariate": multivariate.as_dict(),
            "segments": [{"column": c, "value": v, "feature": n, "psi": d.psi, "js": d.js, "verdict": d.verdict}
                         for c, v, n, d in segments if d.verdict != "ok"]}


def classes_of(row: dict[str, Any]) -> list[str] | None:
    """A multiclass version's class names (the order of its probability columns); None otherwise."""
    return list(row["classes"]) if row["task"] == "multiclass" and row.get("classes") else None


def describe(period: Period) -> str:
    """'2016-01-01 00:00 .. 2016-02-01 00:00 (event time)', for messages."""
    return f"{period.start:%Y-%m-%d %H:%M} .. {period.end:%Y-%m-%d %H:%M} ({period.axis} time)"


def window_rows(ctx: AppContext, row: dict[str, Any], period: Period, features: list[Feature],
                sample: int | None = None) -> pl.DataFrame:
    """The inputs and outputs the version answered in the period, with its drift's output columns."""
    classes = classes_of(row)
    found = dq.window_inputs(ctx.store, row["model_name"], int(row["version"]), period,
                             [f.name for f in features], sample=sample, classes=classes is not None)
    return window_frame(found, classes) if classes else found


def _reference(ctx: AppContext, row: dict[str, Any], features: list[Feature]) -> pl.DataFrame:
    """The version's training rows (before its holdout) in time order, typed as model input, with its
    outputs: the score, or (multiclass) the predicted class and each class's probability. Time order
    lets drift calibration (calibrated_bands.py) measure the reference's window-to-window variability."""
    inputs = training_inputs(ctx, row, features)
    scores = scores_of(load_version_model(ctx, row), row["task"], inputs)
    classes = classes_of(row)
    if classes:
        return pl.concat([inputs, reference_frame(np.asarray(scores), classes)], how="horizontal")
    return inputs.with_columns(pl.Series(PREDICTION, scores))


def training_profiles(ctx: AppContext, row: dict[str, Any], features: list[Feature]) -> dict[str, Profile]:
    """The version's stored reference profile, built from its training rows on first use (and again when
    a stored one lacks an output column the check compares)."""
    outputs = output_features(classes_of(row))
    found = find_profiles(ctx, row["model_name"], int(row["version"]))
    if found is not None and all(_fits(found.get(f.name), f) for f in outputs):
        return found
    profiles = profiles_of(_reference(ctx, row, features), features, row["segments"], outputs)
    store_profiles(ctx, row["model_name"], int(row["version"]), profiles)
    return profiles


def _fits(profile: Profile | None, feature: Feature) -> bool:
    return isinstance(profile, NumericProfile if feature.kind == NUMERIC else CategoricalProfile)


def profiles_of(reference: pl.DataFrame, features: list[Feature], segment_columns: list[str],
                outputs: list[Feature] | None = None) -> dict[str, Profile]:
    """Profiles of every feature and output, whole and per segment value (with enough rows)."""
    columns = [f for f in features if f.name in reference.columns] + (outputs or output_features(None))
    found = {f.name: _profile(reference, f) for f in columns}
    for column in segment_columns:
        if column not in reference.columns:
            continue  # a segment column that is not a model input is not in the prediction log
        for (value,), part in reference.group_by([pl.col(column).cast(pl.String)]):
            if value is None or part.height < MIN_SEGMENT_ROWS:
                continue
            for f in columns:
                if f.name != column:
                    found[segment_key(column, str(value), f.name)] = _profile(part, f)
    return found


def segment_key(column: str, value: str, feature: str) -> str:
    return json.dumps([column, value, feature])


def _profile(frame: pl.DataFrame, feature: Feature) -> Profile:
    if feature.kind == NUMERIC:
        return NumericProfile.of(_floats(frame[feature.name]))
    return CategoricalProfile.of(frame[feature.name].cast(pl.String).to_list())


def _drift_all(profiles: dict[str, Profile], current: pl.DataFrame, features: list[Feature], bands: Bands,
               segment: tuple[str, str] | None, outputs: list[Feature],
               own: dict[str, Bands] | None = None) -> dict[str, ColumnDrift]:
    """Each column's drift, judged by its `own` bands where given (calibrated), else by `bands`."""
    found = {}
    for feature in [*features, *outputs]:
        key = feature.name if segment is None else segment_key(*segment, feature.name)
        profile = profiles.get(key)
        if profile is None or feature.name not in current.columns:
            continue
        found[feature.name] = profile.drift(values_for(profile, current[feature.name]),
                                            (own or {}).get(feature.name, bands))
    return found


def values_for(profile: Profile, series: pl.Series) -> Any:
    """A window's column as its profile compares it: floats with NaN for missing, or text."""
    return _floats(series) if isinstance(profile, NumericProfile) else series.cast(pl.String).to_list()


def _floats(series: pl.Series) -> np.ndarray:
    return series.cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _mean_shifts(profiles: dict[str, Profile], current: pl.DataFrame,
                 outputs: list[Feature]) -> dict[str, dict[str, float | None]]:
    """Each class's mean probability in the reference and in the window."""
    found = {}
    for feature in outputs:
        profile = profiles.get(feature.name)
        if isinstance(profile, NumericProfile) and feature.name in current.columns:
            found[feature.name] = mean_shift(profile.sorted_values, _floats(current[feature.name]))
    return found


def _segments(profiles: dict[str, Profile], current: pl.DataFrame, features: list[Feature],
              segment_columns: list[str], bands: Bands, outputs: list[Feature]) -> list[tuple[str, str, str, ColumnDrift]]:
    found = []
    for column in segment_columns:
        if column not in current.columns:
            continue
        for (value,), cur in current.group_by([pl.col(column).cast(pl.String)], maintain_order=False):
            if value is None or cur.height < MIN_SEGMENT_ROWS or segment_key(column, str(value), PREDICTION) \
                    not in profiles:
                continue
            others = [f for f in features if f.name != column]
            for name, drift in _drift_all(profiles, cur, others, bands, (column, str(value)), outputs).items():
                found.append((column, str(value), name, drift))
    return sorted(found, key=lambda item: (item[0], item[1]))


def _rows(run_id: int, run: dict[str, Any], feature: str, column: str | None, value: str | None,
          drift: ColumnDrift, shift: dict[str, float | None] | None = None) -> list[tuple[Any, ...]]:
    metrics: dict[str, float | None] = {"psi": drift.psi, "js": drift.js, "ks_stat": drift.ks_stat, "ks_pvalue": drift.ks_pvalue,
               "chi2_pvalue": drift.chi2_pvalue, "missing_ref": drift.missing_ref, "missing_cur": drift.missing_cur,
               "unseen_share": drift.unseen_share if drift.kind == "categorical" else None,
               "mean_shift": (shift or {}).get("mean_shift")}
    return [(run_id, run["model_name"], run["version"], run["window_start"], run["window_end"], feature, column, value,
             metric, metric_value, drift.verdict) for metric, metric_value in metrics.items() if metric_value is not None]
