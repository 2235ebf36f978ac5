"""`vigil drift` (a model's traffic, or two data files compared here), and how `vigil outcomes`, `quality`
and `system` print their operation's result."""

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
    from appliance.admin_client import call

    result = call(args.home, "drift", {"name": args.name, "window": args.window, "version": args.version,
                                       "reference_window": args.reference_window})
    if args.json:
        emit(to_json(result))
    else:
        emit(f"{result['model_name']} v{result['version']}: {result['current_rows']} answered rows in the last "
             f"{args.window} against {result['reference_rows']} rows of {result['reference']} -> {result['verdict']} "
             f"(run {result['run_id']})")
        rows = [[name, d["kind"], d["psi"], d["js"], d["ks_pvalue"] if d["kind"] == "numeric" else d["chi2_pvalue"],
                 f"{d['missing_ref']:.3f} -> {d['missing_cur']:.3f}", ", ".join(list(d["new_categories"])[:3]),
                 d["verdict"]] for name, d in result["features"].items()]
        emit(table(["feature", "kind", "psi", "js", "p_value", "missing", "new categories", "verdict"], rows))
        for s in result["segments"][:10]:
            emit(f"  segment {s['column']}={s['value']}: {s['feature']} psi {s['psi']:.3f} -> {s['verdict']}")
    return 1 if result["verdict"] == "critical" else 0


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
    audit, other = report["audit_samples"], report["not_audit_samples"]
    if audit["answered"]:
        emit(f"audit samples: {audit['answered']} answered, coverage {_share(audit['coverage'])}, {key} "
             f"{(audit.get('metrics') or {}).get(key, '-')}; the rest: coverage {_share(other['coverage'])}, {key} "
             f"{(other.get('metrics') or {}).get(key, '-')} (a gap between them is the feedback loop's bias)")
    return 0


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
