"""`vigil drift` (a model's traffic, or two data files compared here), and how `vigil outcomes`, `quality`,
`system`, `dashboard` and `score` print their operation's result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.cli.output import emit, table, to_json


def drift(args: argparse.Namespace) -> int:
    from appliance.errors import MonitoringError

    ad_hoc = args.reference is not None or args.current is not None
    if args.name and ad_hoc:
        raise MonitoringError("give a model NAME or --reference and --current, not both")
    if not args.name and not (args.reference and args.current):
        raise MonitoringError("give a model NAME, or both --reference FILE and --current FILE")
    return _model_drift(args) if args.name else _file_drift(args)


def _model_drift(args: argparse.Namespace) -> int:
    from appliance.cli.progress import call

    result = call(args.home, "drift", {"name": args.name, "window": args.window, "version": args.version,
                                       "reference_window": args.reference_window, "axis": args.axis})
    if args.json:
        emit(to_json(result))
    else:
        emit(f"{result['model_name']} v{result['version']}: {result['current_rows']} answered rows in the last "
             f"{args.window} ({result.get('axis', 'arrival')} time) against {result['reference_rows']} rows of {result['reference']} -> {result['verdict']} "
             f"(run {result['run_id']})")
        rows = [[name, d["kind"], d["psi"], d["js"], d["ks_pvalue"] if d["kind"] == "numeric" else d["chi2_pvalue"],
                 f"{d['missing_ref']:.3f} -> {d['missing_cur']:.3f}", ", ".join(list(d["new_categories"])[:3]),
                 d["verdict"]] for name, d in result["features"].items()]
        emit(table(["feature", "kind", "psi", "js", "p_value", "missing", "new categories", "verdict"], rows))
        _show_thresholds(result)
        for s in result["segments"][:10]:
            emit(f"  segment {s['column']}={s['value']}: {s['feature']} psi {s['psi']:.3f} -> {s['verdict']}")
        if result.get("multivariate"):
            emit(multivariate_line(result["multivariate"]))
    return 1 if result["verdict"] == "critical" else 0


def _show_thresholds(result: dict[str, Any]) -> None:
    """The calibrated thresholds each feature was judged by, beside the fixed bands (when a budget is set)."""
    judged = {name: d["thresholds"] for name, d in result["features"].items() if d.get("thresholds")}
    if not any(t["judged_by"] == "calibrated" for t in judged.values()):
        return
    fixed = next(iter(judged.values()))["fixed"]
    emit(f"thresholds calibrated to at most one chance page in {result['false_page_budget_days']:g} days "
         f"(fixed bands: psi {fixed['psi_warning']:g}/{fixed['psi_critical']:g}, "
         f"js {fixed['js_warning']:g}/{fixed['js_critical']:g}):")
    rows = [[name, t["judged_by"] + (" (lowered)" if t["lowered"] else ""), t["method"] or "-",
             f"{t['psi_warning']:.3g} / {t['psi_critical']:.3g}", f"{t['js_warning']:.3g} / {t['js_critical']:.3g}"]
            for name, t in judged.items()]
    emit(table(["feature", "judged by", "method", "psi warning / critical", "js warning / critical"], rows))


def show_results(result: dict[str, Any], args: argparse.Namespace) -> int:
    """The latest stored drift run per feature (with the thresholds that judged it) and the latest monitor
    run's observations by source."""
    if args.json:
        emit(to_json(result))
        return 0
    run = result["drift"]["run"]
    if run is None:
        emit(f"{result['model']}: no drift run stored yet")
    else:
        emit(f"{result['model']} v{run['version']}: drift run {run['run_id']} over {run['window_start']} .. "
             f"{run['window_end']} ({run['current_rows']} rows) -> {run['verdict']}")
        rows = [[f["feature"], f["psi"], f["js"], f["verdict"], (f.get("thresholds") or {}).get("judged_by", "-"),
                 _pair(f.get("thresholds"), "psi")] for f in result["drift"]["features"]]
        emit(table(["feature", "psi", "js", "verdict", "judged by", "psi warning / critical"], rows))
    monitor = result["monitor"]
    if monitor is None:
        emit("no monitor run stored yet")
        return 0
    emit(f"monitor run {monitor['run']['run_id']} over {monitor['run']['window_start']} .. "
         f"{monitor['run']['window_end']}:")
    for source, observed in monitor["observations"].items():
        if source != "drift":
            emit(table(["source", "metric", "subject", "value"],
                       [[source, o["metric"], o["subject"], o["value"]] for o in observed]))
    return 0


def _pair(thresholds: dict[str, Any] | None, metric: str) -> str:
    if not thresholds:
        return "-"
    return f"{thresholds[metric + '_warning']:.3g} / {thresholds[metric + '_critical']:.3g}"


def multivariate_line(m: dict[str, Any]) -> str:
    """One line on the window's PCA reconstruction error and the training rows' band around it."""
    if m["reconstruction_error"] is None or m["upper_threshold"] is None:
        return f"multivariate (PCA reconstruction error): inconclusive{' - ' + m['note'] if m.get('note') else ''}"
    lower = "-" if m["lower_threshold"] is None else f"{m['lower_threshold']:.4g}"
    inside = "inside" if m["verdict"] == "ok" else "OUTSIDE"
    return (f"multivariate (PCA reconstruction error, {m['components']} components of {m['columns']} columns): "
            f"{m['reconstruction_error']:.4g} {inside} the training band {lower} .. {m['upper_threshold']:.4g} "
            f"({m['reconstruction_sigmas']:.1f} sd from its mean, {m['reference_chunks']} chunks of "
            f"{m['chunk_rows']} rows) -> {m['verdict']}")


def _file_drift(args: argparse.Namespace) -> int:
    from appliance.monitoring.drift import frame_drift
    from appliance.training.frames import read_frame

    reference, current = read_frame(Path(args.reference)), read_frame(Path(args.current))
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    found = frame_drift(reference, current, columns)
    if args.json:
        emit(to_json({name: drift.as_dict() for name, drift in found.items()}))
    else:
        rows = [[name, d.kind, d.psi, d.js, d.ks_pvalue if d.kind == "numeric" else d.chi2_pvalue,
                 f"{d.missing_ref:.3f} -> {d.missing_cur:.3f}", ", ".join(list(d.new_categories)[:3]), d.verdict]
                for name, d in found.items()]
        emit(table(["column", "kind", "psi", "js", "p_value", "missing", "new categories", "verdict"], rows))
    return 1 if any(d.verdict == "critical" for d in found.values()) else 0


def show_outcomes(report: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(report))
        return 0
    key = "roc_auc" if report["task"] == "binary" else "mae"
    overall = report["overall"]
    emit(f"{report['model']}: {overall['answered']} answered rows in the last {args.window}, "
         f"{overall['labelled']} labelled (coverage {_share(overall['coverage'])})")
    rows = [[b["start"][:16].replace("T", " "), b["answered"], b["labelled"], _share(b["coverage"]),
             (b.get("metrics") or {}).get(key), (b.get("label_delay_s") or {}).get("median")]
            for b in report["buckets"]]
    emit(table(["bucket", "answered", "labelled", "coverage", key, "median delay s"], rows))
    for version, found in (report.get("estimated") or {}).items():
        emit(_estimated_line(version, found, (report["versions"].get(version) or {}).get("metrics") or {}, key))
    audit, other = report["audit_samples"], report["not_audit_samples"]
    if audit["answered"]:
        emit(f"audit samples: {audit['answered']} answered, coverage {_share(audit['coverage'])}, {key} "
             f"{(audit.get('metrics') or {}).get(key, '-')}; the rest: coverage {_share(other['coverage'])}, {key} "
             f"{(other.get('metrics') or {}).get(key, '-')} (a gap between them is the feedback loop's bias)")
    return 0


def _estimated_line(version: str, found: dict[str, Any], realized: dict[str, Any], key: str) -> str:
    """A version's estimate (without labels) for the window beside the metric realized on its labels."""
    if "metrics" not in found:
        return f"v{version} estimated: - ({found.get('note', 'not estimated')})"
    key = key if key in found["metrics"] else "accuracy"  # multiclass: accuracy is estimated and realized
    estimate = found["metrics"].get(key) or {}
    value = estimate.get("estimate")
    band = f" [{estimate['lower']:.4f}, {estimate['upper']:.4f}]" if estimate.get("lower") is not None else ""
    shown = "-" if value is None else f"{value:.4f}{band}"
    seen = realized.get(key)
    return (f"v{version} estimated {key} ({found['method'].upper()}, {found['rows']} rows): {shown}; realized "
            f"{'-' if seen is None else f'{seen:.4f}'}" + (" ALERT: outside its holdout's band" if estimate.get("alert") else ""))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def show_quality(report: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(report))
    else:
        volume = report["volume"]
        usual = "-" if volume["usual_requests"] is None else f"{volume['usual_requests']:.0f}"
        emit(f"{report['model']} v{report['version']}: {volume['requests']} requests in the last {args.window} "
             f"(usual {usual}); {'no problems' if report['ok'] else str(len(report['problems'])) + ' problem(s)'}")
        for problem in report["problems"]:
            emit(f"  - {problem}")
    return 0 if report["ok"] else 1


def show_system(report: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(report))
    else:
        emit(table(["minute", "version", "req/s", "rows", "p50 ms", "p95 ms", "p99 ms", "error rate"],
                   [[m["minute"][11:16], m["version"], m["requests_per_s"], m["rows"], m["p50_ms"], m["p95_ms"],
                     m["p99_ms"], m["error_rate"]] for m in report["minutes"]]))
    return 0


def show_dashboard(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['model']} over the last {args.window} (rolled up to {str(result['rolled_up_to'] or '-')[:16]})")
    emit(table(["version", "requests", "p50 ms", "p95 ms", "p99 ms"],
               [[r["version"], r["requests"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
                for r in result["latency"]]))
    minutes = result["requests_per_minute"]
    if minutes:
        peak = max(minutes, key=lambda r: r["requests"])
        emit(f"requests per minute: {len(minutes)} minute-version points, peak {peak['requests']} at "
             f"{str(peak['minute'])[:16]} (v{peak['version']})")
    for d in result["worst_drift"]:
        emit(f"drift: {d['feature']} psi {d['psi']:.3f} ({d['verdict']}, run {d['run_id']})")
    return 0


def show_score(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['batch_id']}: {result['scored']} of {result['rows']} rows scored by {result['model']} "
         f"v{result['version']} into {result['output']} ({result['rows_per_s']:,.0f} rows/s)")
    if result["rejected"]:
        emit(f"  {result['rejected']} rows refused by the contract, with their reasons, in {result['rejects']}")
    return 0
