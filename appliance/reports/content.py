"""What a model's report says about a window, as plain data (no HTML): traffic and latency per time
bucket, drift of every feature against the champion's training rows with the histograms of those that
moved, the score distribution (multiclass: the predicted-class distribution and each class's
probability), the champion's holdout metrics (multiclass: per class and its confusion matrix),
outcome metrics per bucket, and the alerts, incidents and releases of the window. Multivariate drift:
the window's PCA reconstruction error against the training rows' band, and the stored monitor checks'
errors over the window.

Drift is computed afresh for the report on a uniform sample of at most `DRIFT_SAMPLE_ROWS` rows
answered by the champion in the window (stated in the report when sampled); the checks of the
monitor job stay in `drift_results`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json
from appliance.monitoring.drift import Bands
from appliance.core.windows import parse_window
from appliance.core.periods import Period
from appliance.registry.versions import get_version, require_model
from appliance.store import registry_queries as q
from appliance.store import reconstruction_queries as rcq
from appliance.store import report_queries as rpq
from appliance.store import rollup_queries as rq

DRIFT_SAMPLE_ROWS = 200_000
MAX_POINTS = 200  # time buckets per chart at most
MAX_HISTOGRAMS = 8  # moved features drawn, worst first
_STEPS = ("1m", "5m", "15m", "1h", "6h", "1d", "7d")


def bucket_for(span: timedelta) -> str:
    """The shortest bucket that keeps a chart of the window within MAX_POINTS points."""
    for step in _STEPS:
        if span / parse_window(step) <= MAX_POINTS:
            return step
    return _STEPS[-1]


def report_content(ctx: AppContext, model_name: str, window: str, *, now: datetime | None = None) -> dict[str, Any]:
    from appliance.alerts.owners import owner_label
    from appliance.monitoring.outcomes import outcome_report
    from appliance.monitoring.slo_history import budget_history
    from appliance.monitoring.slo_view import slo_status

    model = require_model(ctx.store, model_name)
    span = parse_window(window)
    end = now or utc_now()
    start = end - span
    bucket = bucket_for(span)
    aliases = q.aliases(ctx.store, model_name)
    champion = aliases.get("champion")
    upto = rq.watermark(ctx.store)
    traffic = rpq.traffic(ctx.store, model_name, start, end, upto, parse_window(bucket))
    return {
        "model": model_name, "task": model["task"], "window": window, "window_start": start, "window_end": end,
        "bucket": bucket, "chart": _chart_span(ctx, model_name, window, start, end, upto),
        "generated_at": utc_now(), "aliases": aliases, "champion": champion,
        "traffic": traffic, "latency": rq.latency_percentiles(ctx.store, model_name, start, end, upto),
        "drift": _drift(ctx, model_name, int(champion), start, end) if champion is not None else None,
        "multivariate_history": rcq.results_between(ctx.store, model_name, start, end),
        "holdout": _holdout(ctx, model_name, int(champion)) if champion is not None else None,
        "outcomes": outcome_report(ctx, model_name, Period(start, end, "arrival"), bucket),
        "alerts": rpq.alerts_in(ctx.store, model_name, start, end),
        "incidents": rpq.incidents_in(ctx.store, model_name, start, end),
        "releases": rpq.releases_in(ctx.store, model_name, start, end),
        "owner": owner_label(ctx.config, model_name),
        "slo": {"now": slo_status(ctx, model_name, now=end)["models"][0],
                "history": budget_history(ctx, model_name, start, end)},
    }


def _chart_span(ctx: AppContext, model_name: str, window: str, start: datetime, end: datetime,
                upto: datetime | None) -> dict[str, Any]:
    """The time charts' axis: the window, or when the traffic fills only a small part of it, that part
    (appliance/reports/zoom.py) with a bucket of its own, its traffic and its outcome buckets."""
    from appliance.monitoring.outcomes import outcome_report
    from appliance.reports.zoom import zoomed

    extent = rpq.traffic_extent(ctx.store, model_name, start, end, upto)
    whole = {"start": start, "end": end, "zoomed": False, "note": ""}
    if extent is None:
        return whole
    first, last = extent
    bucket = bucket_for(max(last - first, timedelta(minutes=1)))
    span = zoomed(first, last, start, end, parse_window(bucket))
    if not span.zoomed:
        return whole
    return {"start": span.start, "end": span.end, "zoomed": True, "note": span.note(window), "bucket": bucket,
            "traffic": rpq.traffic(ctx.store, model_name, span.start, span.end, upto, parse_window(bucket)),
            "outcome_buckets": outcome_report(ctx, model_name, Period(span.start, span.end, "arrival"),
                                              bucket)["buckets"]}


def _drift(ctx: AppContext, model_name: str, version: int, start: datetime, end: datetime) -> dict[str, Any]:
    from appliance.monitoring.class_outputs import mean_shift, output_features, probability_column
    from appliance.monitoring.model_drift import PREDICTION, classes_of, training_profiles, values_for, window_rows
    from appliance.monitoring.multivariate_check import judge
    from appliance.monitoring.profile import NumericProfile

    row = get_version(ctx.store, model_name, version)
    features = features_from_json(row["features"])
    classes = classes_of(row)
    outputs = output_features(classes)
    class_of = {probability_column(c): c for c in classes or []}
    current = window_rows(ctx, row, Period(start, end, "arrival"), features, sample=DRIFT_SAMPLE_ROWS)
    answered = rpq.answered_rows(ctx.store, model_name, version, start, end)
    found: dict[str, Any] = {"version": version, "answered_rows": answered, "rows": current.height,
                             "sampled": current.height < answered, "features": [], "histograms": [],
                             "scores": None, "classes": classes, "probabilities": []}
    if current.height == 0:
        return found
    configured = ctx.config.monitoring.bands_for(model_name)
    bands = Bands(configured.psi_warning, configured.psi_critical, configured.js_warning, configured.js_critical)
    profiles = training_profiles(ctx, row, features)
    found["multivariate"] = judge(ctx, row, features, current).as_dict()
    for feature in [*features, *outputs]:
        profile = profiles.get(feature.name)
        if profile is None or feature.name not in current.columns:
            continue
        values = values_for(profile, current[feature.name])
        drift = profile.drift(values, bands)
        labels, reference, now_shares = profile.histogram(values)
        entry = {"feature": feature.name, "kind": drift.kind, "psi": drift.psi, "js": drift.js,
                 "verdict": drift.verdict, "missing_ref": drift.missing_ref, "missing_cur": drift.missing_cur,
                 "new_categories": dict(list(drift.new_categories.items())[:5])}
        histogram = {"feature": feature.name, "verdict": drift.verdict, "psi": drift.psi, "labels": labels,
                     "reference": _shares(reference), "current": _shares(now_shares)}
        if feature.name == PREDICTION:
            found["scores"] = {**entry, **histogram}
            continue
        if feature.name in class_of:  # multiclass: one class's probability
            mean = mean_shift(profile.sorted_values, values) if isinstance(profile, NumericProfile) else {}
            found["probabilities"].append({**entry, **mean, "class": class_of[feature.name]})
            continue
        found["features"].append(entry)
        if drift.verdict != "ok":
            found["histograms"].append(histogram)
    found["features"].sort(key=lambda e: -e["psi"])
    found["histograms"] = sorted(found["histograms"], key=lambda h: -h["psi"])[:MAX_HISTOGRAMS]
    return found


def _holdout(ctx: AppContext, model_name: str, version: int) -> dict[str, Any]:
    """The champion's holdout metrics, grouped: overall values, per class and the confusion matrix."""
    from appliance.training.metric_groups import group_metrics

    row = get_version(ctx.store, model_name, version)
    metrics = {m["metric"]: m["value"] for m in q.metrics(ctx.store, model_name, version)
               if m["segment_column"] is None}
    groups = group_metrics(metrics, row.get("classes") if row["task"] == "multiclass" else None)
    return {"version": version, "task": row["task"], "holdout_rows": row["holdout_rows"], "overall": groups.overall,
            "classes": groups.classes, "per_class": groups.per_class, "confusion": groups.confusion}


def _shares(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]
