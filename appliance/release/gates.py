"""The release policy's gates: each looks at one kind of evidence and says pass or fail, with numbers.

Gates: minimum metric (holdout ROC AUC; multiclass: macro one-vs-rest ROC AUC), calibration (ECE;
multiclass: classwise ECE), comparison with the current champion on
the same holdout (lower bound of the bootstrap interval of the difference above minus the
tolerance), no segment regressing by more than the limit (both versions scored on the same holdout
rows, the new version's), latency budget (p95 of single-row predict
of the version as `vigil up` serves it: its engine, the daemon's predict call and thread limit,
after warm-up), contract compatibility with the last 24 hours of traffic,
model card present, no open incident with a critical alert for the model, and performance estimated
without labels (CBPE; DLE for regression) on what the version scored in the last 24 hours, as canary
or shadow, not worse than the champion's over the same hours by more than `max_estimated_drop`.
Evidence that does not apply (a regression model's AUC, no champion yet, no traffic yet) passes and
says why.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import numpy as np

from appliance.clock import utc_now
from appliance.config import PromotionPolicy
from appliance.home.context import AppContext
from appliance.contracts import rules
from appliance.contracts.features import features_from_json
from appliance.registry.contracts import current_contract
from appliance.registry.versions import get_version
from appliance.store import incident_queries as iq
from appliance.store import registry_queries as q

Gate = dict[str, Any]


def _gate(name: str, passed: bool, value: float | None, limit: float | None, detail: str) -> Gate:
    return {"gate": name, "passed": bool(passed), "value": value, "limit": limit, "detail": detail}


def run_gates(ctx: AppContext, model_name: str, version: int, policy: PromotionPolicy,
              alias: str = "champion") -> list[Gate]:
    row = get_version(ctx.store, model_name, version)
    overall = q.overall_metrics(ctx.store, model_name, version)
    champion = q.aliases(ctx.store, model_name).get("champion")
    return [_min_metric(row["task"], overall, policy), _calibration(row["task"], overall, policy),
            _comparison(ctx, model_name, version, champion, policy),
            _segments(ctx, model_name, version, champion, row["task"], policy),
            _latency(ctx, row, policy), _contract(ctx, model_name, version, policy),
            _gate("model_card", bool((row.get("model_card") or "").strip()), None, None,
                  "model card present" if (row.get("model_card") or "").strip() else "no model card"),
            _incident(ctx, model_name, alias), _fairness(ctx, model_name, version, row["task"], policy),
            _cost(ctx, model_name, version, champion, policy), _estimated(ctx, model_name, version, champion, policy)]


_MIN_METRIC = {"binary": ("roc_auc", "holdout ROC AUC"), "multiclass": ("roc_auc_ovr_macro", "holdout macro one-vs-rest ROC AUC")}
_CALIBRATION = {"binary": ("ece", "expected calibration error"), "multiclass": ("classwise_ece", "classwise expected calibration error")}


def _min_metric(task: str, overall: dict[str, Any], policy: PromotionPolicy) -> Gate:
    metric, label = _MIN_METRIC.get(task, ("", ""))
    if overall.get(metric) is None:
        return _gate("min_metric", True, None, None, "no minimum applies to this task")
    auc = float(overall[metric])
    return _gate("min_metric", auc >= policy.min_roc_auc, auc, policy.min_roc_auc, f"{label} {auc:.4f}")


def _calibration(task: str, overall: dict[str, Any], policy: PromotionPolicy) -> Gate:
    metric, label = _CALIBRATION.get(task, ("", ""))
    if overall.get(metric) is None:
        return _gate("calibration", True, None, None, "no calibration limit applies to this task")
    ece = float(overall[metric])
    return _gate("calibration", ece <= policy.max_ece, ece, policy.max_ece, f"{label} {ece:.4f}")


def _comparison(ctx: AppContext, model: str, version: int, champion: int | None, policy: PromotionPolicy) -> Gate:
    if champion is None or champion == version:
        return _gate("comparison", True, None, None, "no other champion to compare with")
    found = q.comparison_with(ctx.store, model, version, champion)
    if found is None:  # trained before this champion: compare now, on the version's own holdout rows
        found = _compare_now(ctx, model, version)
        if found is None:
            return _gate("comparison", False, None, -policy.comparison_tolerance,
                         f"v{version} cannot be compared with champion v{champion} (different task, target or "
                         "features); promote by retraining against it")
    low = float(found["ci_low"]) if found["higher_is_better"] else -float(found["ci_high"])
    return _gate("comparison", low > -policy.comparison_tolerance, low, -policy.comparison_tolerance,
                 f"{found['metric']}: v{version} minus v{champion} = {found['difference']:+.4f}, "
                 f"interval [{found['ci_low']:+.4f}, {found['ci_high']:+.4f}]")


def _compare_now(ctx: AppContext, model: str, version: int) -> dict[str, Any] | None:
    """The paired bootstrap comparison training runs, run now against the current champion."""
    import polars as pl

    from appliance.contracts.features import model_input
    from appliance.registry.loading import load_version_model
    from appliance.training.champion import champion_info, compare_with_champion
    from appliance.training.dataset import labels, load_snapshot
    from appliance.training.evaluation import scores_of
    from appliance.training.spec import parse_spec

    row = get_version(ctx.store, model, version)
    spec = parse_spec(row["spec_toml"], f"the spec of {model} v{version}").spec
    frame = load_snapshot(ctx.home.root / row["snapshot_path"], row["time_column"])
    holdout = frame.filter(pl.col(row["time_column"]) >= row["holdout_start"])
    y = labels(holdout, spec, row["positive_class"], row.get("classes"))
    scores = scores_of(load_version_model(ctx, row), row["task"], model_input(holdout, features_from_json(row["features"])))
    _, comparison, _ = compare_with_champion(ctx.home.root, ctx.config.training, champion_info(ctx.store, model),
                                             spec, holdout, y, scores, row["positive_class"], row.get("classes"))
    if comparison is None or comparison.ci_low is None or comparison.ci_high is None:
        return None
    return {"metric": comparison.metric, "higher_is_better": comparison.higher_is_better,
            "difference": comparison.difference, "ci_low": comparison.ci_low, "ci_high": comparison.ci_high}


def _segments(ctx: AppContext, model: str, version: int, champion: int | None, task: str,
              policy: PromotionPolicy) -> Gate:
    """Each segment's metric of the version and of the champion, both on the version's holdout rows."""
    import polars as pl
    from sklearn.metrics import roc_auc_score

    from appliance.training.multiclass_metrics import log_loss

    if champion is None or champion == version:
        return _gate("segments", True, None, None, "no other champion to compare segments with")
    paired = _paired_holdout(ctx, model, version, champion)
    if paired is None:
        return _gate("segments", True, None, policy.segment_regression_limit,
                     f"champion v{champion} cannot score v{version}'s holdout rows (other features)")
    holdout, y, ours, theirs, segments = paired
    metric = {"binary": "roc_auc", "multiclass": "log_loss"}.get(task, "mae")
    worst, where, measured = 0.0, "no segment has enough rows of both classes", 0
    for column in segments:
        values = holdout[column].cast(pl.String).fill_null("(missing)").to_numpy()
        for value in np.unique(values):
            rows = values == value
            if rows.sum() < ctx.config.training.min_segment_rows or (task == "binary" and len(np.unique(y[rows])) < 2):
                continue
            measured += 1
            if task == "binary":
                loss = roc_auc_score(y[rows], theirs[rows]) - roc_auc_score(y[rows], ours[rows])
            elif task == "multiclass":
                loss = log_loss(y[rows], ours[rows]) - log_loss(y[rows], theirs[rows])
            else:
                loss = float(np.mean(np.abs(ours[rows] - y[rows])) - np.mean(np.abs(theirs[rows] - y[rows])))
            if loss > worst:
                worst, where = loss, (f"{column}={value}: v{version} is worse than champion v{champion} by "
                                      f"{loss:.4f} {metric} on the same {int(rows.sum())} holdout rows")
    if measured and worst <= 0:
        where = f"no segment worse than champion v{champion} ({measured} segments, same holdout rows)"
    return _gate("segments", worst <= policy.segment_regression_limit, worst, policy.segment_regression_limit, where)


def _paired_holdout(ctx: AppContext, model: str, version: int, champion: int) -> tuple[Any, ...] | None:
    """(holdout frame, labels, version scores, champion scores, segment columns) on the version's holdout."""
    import polars as pl

    from appliance.contracts.features import model_input
    from appliance.registry.loading import load_version_model
    from appliance.training.dataset import labels, load_snapshot
    from appliance.training.evaluation import scores_of
    from appliance.training.spec import parse_spec

    row = get_version(ctx.store, model, version)
    other = get_version(ctx.store, model, champion)
    theirs_features = features_from_json(other["features"])
    spec = parse_spec(row["spec_toml"], f"the spec of {model} v{version}").spec
    frame = load_snapshot(ctx.home.root / row["snapshot_path"], row["time_column"])
    holdout = frame.filter(pl.col(row["time_column"]) >= row["holdout_start"])
    if any(f.name not in holdout.columns for f in theirs_features) or other.get("classes") != row.get("classes"):
        return None
    y = labels(holdout, spec, row["positive_class"], row.get("classes"))
    ours = scores_of(load_version_model(ctx, row), row["task"], model_input(holdout, features_from_json(row["features"])))
    theirs = scores_of(load_version_model(ctx, other), row["task"], model_input(holdout, theirs_features))
    return holdout, y, ours, theirs, [c for c in row["segments"] if c in holdout.columns]


def _latency(ctx: AppContext, row: dict[str, Any], policy: PromotionPolicy, calls: int = 60) -> Gate:
    """p95 of single-row predicts of the version loaded and called as `vigil up` serves it."""
    from appliance.plans.probes import probe_rows
    from appliance.core.inputs import Inputs
    from appliance.serving.version_loading import loaded_version

    features = features_from_json(row["features"])
    _, contract = current_contract(ctx.store, row["model_name"], int(row["version"]))
    loaded = loaded_version(ctx, row, features, contract, keep_plan=not ctx.store.read_only)
    probes = probe_rows(features, contract)
    rows = [Inputs.from_polars(probes[i: i + 1], features) for i in range(probes.height)]
    p95, threads = predict_latency_ms(loaded, rows, calls)
    return _gate("latency", p95 <= policy.latency_budget_ms, p95, policy.latency_budget_ms,
                 f"p95 of {calls} single-row predicts through the {loaded.engine}, after {WARM_UP_CALLS} "
                 f"warm-up calls, under {_threads_text(threads)} as vigil up serves: {p95:.2f} ms")


WARM_UP_CALLS = 5


def predict_latency_ms(loaded: Any, rows: list[Any], calls: int) -> tuple[float, int]:
    """(p95 in ms of `calls` predicts cycling through `rows`, the most OpenMP/BLAS threads a call could use).

    The daemon's own predict (`LoadedVersion.predict`), under the daemon's thread limits and after
    warm-up calls (a runtime's first call starts its thread pool, a library's first call fills its
    caches), with the CPU time kept apart from the version's serving cost."""
    from appliance.serving.cost_meter import CostMeter
    from appliance.core.threads import observed_threads, predict_threads

    meter = CostMeter()
    with predict_threads():
        for i in range(WARM_UP_CALLS):
            loaded.predict(rows[i % len(rows)], meter)
        threads = observed_threads()
        timings = []
        for i in range(calls):
            started = time.perf_counter()
            loaded.predict(rows[i % len(rows)], meter)
            timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 95)), threads


def _threads_text(threads: int) -> str:
    from appliance.core.threads import PREDICT_THREADS, SETTING

    if threads <= PREDICT_THREADS:
        return SETTING
    return f"{threads} OpenMP/BLAS threads (the daemon's limit of {PREDICT_THREADS} could not be applied here)"


def _contract(ctx: AppContext, model: str, version: int, policy: PromotionPolicy) -> Gate:
    import polars as pl

    from appliance.contracts.validation import validate_frame
    from appliance.store import prediction_queries as pq

    table = pq.inputs_table(model)
    if not ctx.store.has_table(table):
        return _gate("contract", True, None, policy.max_contract_violations, "no traffic yet to check against")
    columns, rows = pq.recent_inputs(ctx.store, model, utc_now() - timedelta(hours=24), 50000)
    if not rows:
        return _gate("contract", True, None, policy.max_contract_violations, "no traffic in the last 24 h")
    _, contract = current_contract(ctx.store, model, version)
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    frame = frame.select([c for c in frame.columns if c in contract.columns])
    report = validate_frame(frame, contract)
    serving = ctx.config.serving.policy_for(model)
    accepted = {rules.MISSING_RATE}  # a window-level limit, watched by monitoring, never a refusal
    if serving.out_of_range == "flag":
        accepted |= {rules.BELOW_MIN, rules.ABOVE_MAX}
    if serving.unknown_category == "flag":
        accepted.add(rules.UNKNOWN_CATEGORY)
    refusing = [v for v in report.violations if v.kind not in accepted]
    refused = max((v.rows or len(rows) for v in refusing), default=0) / len(rows)
    flagged = [v for v in report.violations if v.kind in accepted]
    return _gate("contract", refused <= policy.max_contract_violations, refused, policy.max_contract_violations,
                 f"{len(rows)} recent rows; " + ("; ".join(v.describe() for v in refusing[:3]) or
                                                 "none would be refused")
                 + (f"; accepted with flags under the serving policy: {len(flagged)} kind(s)" if flagged else ""))


def _fairness(ctx: AppContext, model: str, version: int, task: str, policy: PromotionPolicy) -> Gate:
    """The gaps between groups of each protected attribute, from groups with enough holdout rows."""
    from appliance.training.fairness import gaps, worst_pair

    rows = [r for r in q.fairness(ctx.store, model, version) if r["group_value"] is not None]
    if not rows:
        return _gate("fairness", True, None, None, "the spec names no protected attributes")
    limits = {"demographic_parity_difference": policy.max_demographic_parity_difference,
              "equalized_odds_difference": policy.max_equalized_odds_difference}
    failures, report, worst = [], [], 0.0
    for attribute in dict.fromkeys(r["attribute"] for r in rows):
        groups: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r["attribute"] == attribute:
                groups.setdefault(r["group_value"], {"count": r["row_count"]})[r["metric"]] = r["value"]
        judged = {g: v for g, v in groups.items() if v["count"] >= policy.fairness_min_group_rows}
        small = len(groups) - len(judged)
        for metric, value in gaps(task, judged).items():
            if value is None:
                continue
            pair = worst_pair(judged, "selection_rate" if metric.startswith("demographic") else
                              ("mae" if metric.startswith("mae") else
                               "accuracy" if metric.startswith("accuracy") else "tpr"))
            text = f"{attribute}: {metric.replace('_', ' ')} {value:.3f} ({pair})"
            limit = limits.get(metric)
            if limit is not None:
                worst = max(worst, value - limit)
                if value > limit:
                    failures.append(f"{text} above {limit:g}")
                    continue
            report.append(text)
        if small:
            report.append(f"{attribute}: {small} group(s) under {policy.fairness_min_group_rows} rows reported, not judged")
    judged_any = any(v is not None for v in limits.values())
    detail = "; ".join(failures + report) + ("" if judged_any else " (no limits set: reported, not judged)")
    return _gate("fairness", not failures, worst if judged_any else None, None, detail)


def _cost(ctx: AppContext, model: str, version: int, champion: int | None, policy: PromotionPolicy) -> Gate:
    """CPU seconds per 1,000 single-row predictions of the version against the champion's, both measured
    the same way at registration."""
    ours = q.cost(ctx.store, model, version)
    theirs = q.cost(ctx.store, model, champion) if champion is not None and champion != version else None
    if ours is None or ours["bench_cpu_s_per_1k"] is None:
        return _gate("cost", True, None, policy.max_cost_ratio, "no cost measured for this version")
    mine = float(ours["bench_cpu_s_per_1k"])
    if theirs is None or not theirs["bench_cpu_s_per_1k"]:
        return _gate("cost", True, None, policy.max_cost_ratio,
                     f"{mine:.3f} CPU s per 1,000 predictions; no champion to compare with")
    ratio = mine / float(theirs["bench_cpu_s_per_1k"])
    return _gate("cost", ratio <= policy.max_cost_ratio, ratio, policy.max_cost_ratio,
                 f"{mine:.3f} vs champion v{champion}'s {float(theirs['bench_cpu_s_per_1k']):.3f} CPU s per 1,000 "
                 f"predictions ({ratio:.2f}x)")


def _estimated(ctx: AppContext, model: str, version: int, champion: int | None, policy: PromotionPolicy) -> Gate:
    """The version's performance estimated without labels on what it scored in the last 24 h (as canary or
    shadow) against the champion's over the same hours."""
    from appliance.core.periods import Period
    from appliance.estimation.comparison import MIN_ROWS as MIN_ESTIMATED_ROWS, compare_versions

    if champion is None or champion == version:
        return _gate("estimated_performance", True, None, None, "no other champion to compare with")
    now = utc_now()
    found = compare_versions(ctx, model, version, champion, Period(now - timedelta(hours=24), now, "arrival"),
                             policy.max_estimated_drop)
    if found["ok"] is None:
        return _gate("estimated_performance", True, None, policy.max_estimated_drop,
                     f"not estimated: each version needs {MIN_ESTIMATED_ROWS} scored rows in the last 24 h and a "
                     "labelled holdout")
    ours, theirs = found["candidate"]["estimate"], found["champion"]["estimate"]
    return _gate("estimated_performance", found["ok"], found["worse_by"], policy.max_estimated_drop,
                 f"{found['metric']} over the last 24 h: v{version} {ours:.4f} vs champion v{champion} {theirs:.4f} "
                 f"({found['measure']} {found['worse_by']:+.4f}, sampling noise {found['noise']:.4f})")


def _incident(ctx: AppContext, model: str, alias: str) -> Gate:
    if alias != "champion":  # trying a fix as shadow or canary is how an incident ends
        return _gate("no_open_incident", True, None, None, f"applies to champion only, not to {alias}")
    open_critical = iq.open_critical_count(ctx.store, model)
    return _gate("no_open_incident", not open_critical, float(open_critical or 0), 0.0,
                 f"{open_critical} open incident(s) with critical alerts" if open_critical else "no open incident")
