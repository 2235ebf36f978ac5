"""How `vigil audit verify|export` and `explain-request` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, to_json


def show_audit_verify(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    elif result["ok"]:
        anchors = result.get("anchors")
        emit(f"audit log intact: {result['rows']} rows, head {result['head']}"
             + (f"; matches {anchors['lines']} signed anchors in {anchors['file']}" if anchors else ""))
    else:
        emit(f"audit log BROKEN: {result['problem']}")
    return 0 if result["ok"] else 1


def show_audit_export(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else "wrote " + ", ".join(
        f"{name}.parquet ({rows} rows)" for name, rows in result["rows"].items()) + f" to {result['directory']}"
        + (f"; {result['openlineage_events']} OpenLineage run events in openlineage/" if args.openlineage else ""))
    return 0


def show_explain_request(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0 if result["matches"] else 1
    trained = result["trained"]
    emit(f"request {result['request_id']}: answered by {result['model']} v{result['version']} ({result['route']}, "
         f"{result['api']} API) at {str(result['logged_at'])[:19]} UTC in {result['latency_ms']:.1f} ms")
    emit(f"v{result['version']}: {trained['estimator']} trained by {trained['created_by']} at "
         f"{str(trained['created_at'])[:19]} on snapshot {trained['snapshot_id'][:12]} ({trained['snapshot_rows']} rows), "
         f"spec {trained['spec_sha256'][:12]}, artifact {trained['artifact_sha256'][:12]}")
    for row in result["rows"]:
        emit(f"  row {row['row_index']}: prediction {row['prediction']}, score {row['score']}"
             + (f"; recomputed {row['recomputed']} -> {'matches' if row['matches'] else 'DIFFERS'}"
                if "recomputed" in row else "; inputs no longer kept (retention)"))
        explanation = row.get("explanation")
        if explanation is None:
            for name, value in (row.get("inputs") or {}).items():
                emit(f"      {name} = {value}")
            continue
        emit(f"      contributions ({explanation['method']}; {explanation['scale']} {explanation['output']:.4f} vs "
             f"{explanation['reference_output']:.4f} for the reference row):")
        references = result.get("references", {})
        for name, part in explanation["contributions"].items():
            emit(f"      {part:+.4f}  {name} = {row['inputs'][name]}  (reference {references.get(name)})")
    return 0 if result["matches"] else 1
