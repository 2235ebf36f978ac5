"""`vigil train` and `vigil import`, which check the spec before calling their operation, and how
`vigil reproduce` and `retrain` print their result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.cli.progress import call
from appliance.cli.output import emit, to_json
from appliance.training.metric_groups import metric_lines


def train(args: argparse.Namespace) -> int:
    from appliance.training.spec import load_spec

    load_spec(Path(args.spec))  # a bad spec is refused here, before any store is opened
    result = call(args.home, "train", {"spec": str(Path(args.spec).resolve()), "reason": args.reason})
    _report(result, args.json, "trained")
    return 0


def import_model(args: argparse.Namespace) -> int:
    from appliance.training.spec import load_spec

    load_spec(Path(args.spec))
    operation = "import_trusted" if args.trust else "import"  # trusted imports are admin-only
    result = call(args.home, operation, {"name": args.name, "file": str(Path(args.file).resolve()),
                                         "spec": str(Path(args.spec).resolve()), "reason": args.reason})
    _report(result, args.json, "imported")
    return 0


def show_reproduce(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    else:
        verdict = "match" if result["predictions_match"] else "DIFFER"
        emit(f"{args.name} v{args.version}: predictions on {result['holdout_rows']} holdout rows {verdict} "
             f"(max abs difference {result['max_abs_difference']:.3g})")
        for name, pair in result["metrics"].items():
            emit(f"  {name:<24} recorded {_num(pair['recorded'])}  reproduced {_num(pair['reproduced'])}")
        for name, (was, now) in result["environment_changes"].items():
            emit(f"  environment: {name} was {was}, now {now}")
    return 0 if result["predictions_match"] else 1


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6f}"


def _report(result: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        emit(to_json(result))
        return
    emit(f"{verb} {result['model']} v{result['version']} (snapshot {result['snapshot_id'][:12]}, "
         f"artifact {result['artifact_sha256'][:12]})")
    for line in metric_lines(result["metrics"], result.get("classes"), _num):  # multiclass: a table per class
        emit("  " + line)
    comparison = result["comparison"] or {}
    if "verdict" in comparison:
        emit(f"  vs champion v{comparison['champion_version']}: {comparison['metric']} difference "
             f"{_num(comparison['difference'])} [{_num(comparison['ci_low'])}, {_num(comparison['ci_high'])}] "
             f"-> {comparison['verdict']}")
    else:
        emit(f"  not compared: {comparison.get('note', '')}")


def show_retrain(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    elif result.get("queued"):
        emit(f"retrain of {args.name} queued as job run {result['run_id']}; follow it with `vigil jobs --job retrain`")
    else:
        emit(f"retrained {result['model']} v{result['version']} (trigger {result['trigger']}, from "
             f"v{result['from_version']}); it is now the challenger — promote it after review")
    return 0
