"""How `vigil models`, `versions`, `show` and `contract` print their operation's result, and `vigil contract
apply`, which reads the contract file first."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.cli.progress import call
from appliance.cli.output import dict_table, emit, to_json


def show_models(models: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(models))
    elif not models:
        emit("no models yet; train one with `vigil train --spec FILE`")
    else:
        emit(dict_table(models, ["name", "task", "versions", "champion", "challenger", "canary", "shadow", "owner"]))
    return 0


def show_versions(versions: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(versions))
    else:
        emit(dict_table(versions, ["version", "aliases", "origin", "primary_metric", "created_by", "created_at",
                                   "parent_version", "reason"]))
    return 0


def show_version(details: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(details))
    elif args.card:
        emit(details["model_card"])
    else:
        emit(_show_text(details))
    return 0


def _show_text(d: dict[str, Any]) -> str:
    snap = d["snapshot"]
    lines = [
        f"{d['model']} v{d['version']}  ({d['origin']}, {d['task']})  aliases: {', '.join(d['aliases']) or '-'}",
        f"created      {_when(d['created_at'])} by {d['created_by']}; reason: {d['reason'] or '-'}",
        f"owner        {d.get('owner') or 'none (vigil doctor; [owners.models] in vigil.toml)'}",
        f"parent       {d['parent_version'] or '-'}",
        f"estimator    {d['estimator']} seed={d['seed']}",
        f"params       {d['hyperparameters']}",
        f"snapshot     {snap['id']} ({snap['rows']} rows, {_when(snap['time_min'])} .. {_when(snap['time_max'])})",
        f"source       {snap['source'].strip()}",
        f"split        holdout from {_when(d['holdout_start'])} ({d['holdout_rows']} rows; {d['train_rows']} training)",
        f"features     {', '.join(f['name'] + ':' + f['kind'][0] for f in d['features'])}",
        f"target       {d['target']}" + (f" (positive: {d['positive_class']})" if d["positive_class"] else ""),
        f"spec         sha256 {d['spec_sha256'][:16]} git {d['spec_git_commit'] or '-'}"
        + (" (modified)" if d["spec_git_dirty"] else ""),
        f"artifact     {d['artifact_sha256'][:16]} ({d['artifact_bytes']} bytes)",
        f"environment  python {d['environment']['python']}, scikit-learn {d['environment']['packages'].get('scikit-learn')}",
        f"contract     revision {d['contract_revision']}",
        *_metric_lines(d["metrics"], d.get("classes")),
        f"cost         {d['cost_summary']}",
    ]
    if d.get("serving"):
        lines.append(f"serving      {d['serving']['engine']} ({d['serving']['library'] or '-'}): {d['serving']['detail']}")
    lines += _imported_lines(d.get("imported_from"))
    c = d["comparison"]
    if c and c["status"] == "compared":
        lines.append(f"vs champion  v{c['champion_version']}: {c['metric']} {c['difference']:+.4f} "
                     f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]")
    elif c:
        lines.append(f"vs champion  {c['status']}: {c['note']}")
    return "\n".join(lines)


def _metric_lines(metrics: dict[str, Any], classes: list[str] | None) -> list[str]:
    """The overall metrics on one line; a multiclass version's per-class table and confusion matrix below."""
    from appliance.training.metric_groups import metric_lines

    found = metric_lines(metrics, classes, lambda v: "n/a" if v is None else f"{v:.4f}")
    return ["metrics      " + found[0], *("             " + line for line in found[1:])]


def _imported_lines(origin: dict[str, Any] | None) -> list[str]:
    """Where an imported version came from: its file and, from MLflow, the run and model it was."""
    if not origin or "file" not in origin:
        return []
    lines = [f"imported     {origin['file']} ({origin.get('format', '-')}, sha256 {str(origin.get('sha256', ''))[:16]}"
             + (", trusted" if origin.get("trusted") else "") + ")"]
    mlflow = origin.get("mlflow")
    if mlflow:
        lines.append(f"mlflow       run {mlflow.get('run_id') or '-'}, {mlflow.get('flavor')} flavour, model "
                     f"{mlflow.get('model_id') or mlflow.get('model_uuid') or '-'}, saved "
                     f"{_when(mlflow.get('utc_time_created'))} by MLflow {mlflow.get('mlflow_version') or '-'}")
        lines.append(f"mlflow from  {mlflow.get('artifact_path') or mlflow.get('directory')}")
    return lines


def _when(value: str | None) -> str:
    return (value or "-").replace("T", " ")[:19]


def show_contract(result: Any, args: argparse.Namespace) -> int:
    """The contract as TOML, printed or written to --out."""
    text = result["toml"]
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        emit(f"wrote {args.out}")
    else:
        emit(text.rstrip("\n"))
    return 0


def apply_contract(args: argparse.Namespace) -> int:
    """`vigil contract apply`: the contract file's text is sent, so the daemon never reads the caller's file."""
    from appliance.errors import ContractError

    path = Path(args.file)
    if not path.is_file():
        raise ContractError(f"contract file {path} does not exist; export one with `vigil contract export`")
    revision = call(args.home, "contract_apply", {
        "name": args.name, "version": args.version, "toml": path.read_text(encoding="utf-8"), "source": str(path),
        "reason": args.reason})["revision"]
    emit(f"{args.name} v{args.version}: contract revision {revision} applied")
    return 0


def show_contract_check(report: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(report))
    elif report["ok"]:
        emit(f"{args.file}: {report['row_count']} rows satisfy the contract of {args.name} v{args.version}")
    else:
        emit(dict_table(report["violations"], ["column", "kind", "rows", "observed", "expected"]))
    return 0 if report["ok"] else 1

