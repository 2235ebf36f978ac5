"""`vigil models | versions | show | promote | contract`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from appliance.cli.output import dict_table, emit, to_json
from appliance.home import resolve_home


def cmd_models(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.store import registry_queries as q

    with open_context(resolve_home(args.home), read_only=True) as ctx:
        models = q.list_models(ctx.store)
    if args.json:
        emit(to_json(models))
    elif not models:
        emit("no models yet; train one with `vigil train --spec FILE`")
    else:
        emit(dict_table(models, ["name", "task", "versions", "champion", "challenger", "canary", "shadow"]))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.registry.versions import list_versions

    with open_context(resolve_home(args.home), read_only=True) as ctx:
        versions = list_versions(ctx.store, args.name)
    if args.json:
        emit(to_json(versions))
    else:
        emit(dict_table(versions, ["version", "aliases", "origin", "primary_metric", "created_by", "created_at",
                                   "parent_version", "reason"]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.registry.details import version_details

    with open_context(resolve_home(args.home), read_only=True) as ctx:
        details = version_details(ctx.store, args.name, args.version)
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
        f"created      {d['created_at']:%Y-%m-%d %H:%M:%S} by {d['created_by']}; reason: {d['reason'] or '-'}",
        f"parent       {d['parent_version'] or '-'}",
        f"estimator    {d['estimator']} seed={d['seed']}",
        f"params       {d['hyperparameters']}",
        f"snapshot     {snap['id']} ({snap['rows']} rows, {snap['time_min']} .. {snap['time_max']})",
        f"source       {snap['source'].strip()}",
        f"split        holdout from {d['holdout_start']} ({d['holdout_rows']} rows; {d['train_rows']} training)",
        f"features     {', '.join(f['name'] + ':' + f['kind'][0] for f in d['features'])}",
        f"target       {d['target']}" + (f" (positive: {d['positive_class']})" if d["positive_class"] else ""),
        f"spec         sha256 {d['spec_sha256'][:16]} git {d['spec_git_commit'] or '-'}"
        + (" (modified)" if d["spec_git_dirty"] else ""),
        f"artifact     {d['artifact_sha256'][:16]} ({d['artifact_bytes']} bytes)",
        f"environment  python {d['environment']['python']}, scikit-learn {d['environment']['packages'].get('scikit-learn')}",
        f"contract     revision {d['contract_revision']}",
        "metrics      " + "  ".join(f"{k}={v:.4f}" if v is not None else f"{k}=n/a" for k, v in d["metrics"].items()),
    ]
    c = d["comparison"]
    if c and c["status"] == "compared":
        lines.append(f"vs champion  v{c['champion_version']}: {c['metric']} {c['difference']:+.4f} "
                     f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]")
    elif c:
        lines.append(f"vs champion  {c['status']}: {c['note']}")
    return "\n".join(lines)


def cmd_promote(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.registry.aliases import move_alias
    from appliance.registry.lineage import creator

    with open_context(resolve_home(args.home)) as ctx:
        previous = move_alias(ctx.store, args.name, args.alias, args.version, actor=creator(), reason=args.reason)
    result = {"model": args.name, "alias": args.alias, "from_version": previous, "to_version": args.version}
    emit(to_json(result) if args.json else
         f"{args.name}: {args.alias} v{previous if previous is not None else '-'} -> v{args.version}")
    return 0


def cmd_contract_export(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.registry.contracts import current_contract

    with open_context(resolve_home(args.home), read_only=True) as ctx:
        _, contract = current_contract(ctx.store, args.name, args.version)
    text = contract.to_toml()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        emit(f"wrote {args.out}")
    else:
        emit(text.rstrip("\n"))
    return 0


def cmd_contract_apply(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.contracts.contract import Contract
    from appliance.errors import ContractError
    from appliance.registry.contracts import apply_contract
    from appliance.registry.lineage import creator

    path = Path(args.file)
    if not path.is_file():
        raise ContractError(f"contract file {path} does not exist; export one with `vigil contract export`")
    contract = Contract.from_toml(path.read_text(encoding="utf-8"), str(path))
    with open_context(resolve_home(args.home)) as ctx:
        revision = apply_contract(ctx.store, args.name, args.version, contract, actor=creator(), reason=args.reason)
    emit(f"{args.name} v{args.version}: contract revision {revision} applied")
    return 0


def cmd_contract_check(args: argparse.Namespace) -> int:
    from appliance.context import open_context
    from appliance.contracts.validation import validate_frame
    from appliance.registry.contracts import current_contract
    from appliance.training.frames import read_frame

    frame = read_frame(Path(args.file))
    with open_context(resolve_home(args.home), read_only=True) as ctx:
        _, contract = current_contract(ctx.store, args.name, args.version)
    report = validate_frame(frame, contract)
    if args.json:
        emit(to_json(report.as_dict()))
    elif report.ok:
        emit(f"{args.file}: {report.row_count} rows satisfy the contract of {args.name} v{args.version}")
    else:
        emit(dict_table([{"column": v.column, "kind": v.kind, "rows": v.rows, "observed": v.observed,
                          "expected": v.expected} for v in report.violations],
                        ["column", "kind", "rows", "observed", "expected"]))
    return 0 if report.ok else 1
