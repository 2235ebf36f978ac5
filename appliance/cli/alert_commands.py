"""How `vigil monitor run`, `alerts`, `incidents`, `incident …`, `jobs`, `retrain`, `dashboard`, `rollback`,
`audit`, `explain-request`, `users`, `whoami` and `requests` print their operation's result."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.cli.output import emit, table, to_json


def show_monitor_run(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    if "chunks" in result:
        from appliance.cli.period_commands import show_chunks

        show_chunks(result)
        return 1 if any(a["change"] == "opened" for c in result["checks"] for a in c["alerts"]) else 0
    opened = 0
    for check in result["checks"]:
        emit(f"{check['model']} v{check['version']}: {check['observations']} observations over "
             f"{result['window']} (monitor run {check['run_id']})")
        for part, why in check["skipped"].items():
            emit(f"  {part} skipped: {why}")
        for alert in check["alerts"]:
            opened += alert["change"] == "opened"
            muted = " (muted)" if alert["muted"] else ""
            emit(f"  alert {alert['alert_id']} {alert['change']}{muted}: [{alert['severity']}] {alert['message']}")
        for incident in check["incidents_opened"]:
            emit(f"  incident {incident} opened (vigil incident show {incident})")
    return 1 if opened else 0


def show_alerts(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[a["alert_id"], a["status"], a["severity"], a["model_name"], a["rule"], a["subject"],
             a["value"], str(a["opened_at"])[:19], "muted" if a["muted"] else "", a["incident_id"] or ""]
            for a in result["alerts"]]
    emit(table(["id", "status", "severity", "model", "rule", "subject", "value", "opened", "", "incident"], rows)
         if rows else "no open alerts" if not args.all else "no alerts")
    for m in result["mutes"]:
        emit(f"muted: {m['rule']} for {m['model_name']} until {str(m['until'])[:19]} by {m['muted_by']} "
             f"({m['reason']})")
    return 0


def show_alert_rules(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    else:
        emit(f"# rules from: {result['source']}\n{result['toml']}")
    return 0


def show_alert_mute(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else
         f"muted {result['rule']} for {result['model_name']} until {str(result['until'])[:19]} UTC")
    return 0


def show_incidents(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[i["incident_id"], i["status"], i["model_name"], str(i["opened_at"])[:19], i["acknowledged_by"] or "",
             str(i["resolved_at"] or "")[:19], i["title"][:60]] for i in result["incidents"]]
    emit(table(["id", "status", "model", "opened", "acknowledged by", "resolved", "title"], rows)
         if rows else "no open incidents" if not args.all else "no incidents")
    mttr = result["mttr"]
    if mttr["resolved"]:
        emit(f"MTTR over {mttr['resolved']} resolved incident(s): {mttr['mttr_minutes']:.1f} min "
             f"(median {mttr['median_minutes']:.1f} min)")
    return 0


def show_incident(result: Any, args: argparse.Namespace) -> int:
    """An incident and its timeline (`incident show`, `ack`, `note`, `resolve`)."""
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"incident {result['incident_id']} [{result['status']}] {result['model_name']}: {result['title']}")
    emit(f"opened {str(result['opened_at'])[:19]}, {result['minutes_open']:.1f} min "
         f"{'to resolve' if result['resolved_at'] else 'so far'}")
    for event in result["timeline"]:
        emit(f"  {str(event['at_time'])[:19]}  {event['kind']:<15} {event['actor']:<14} {event['detail']}")
    return 0


def show_postmortem(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else str(result["markdown"]))
    return 0


def show_jobs(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[r["run_id"], r["job"], r["model_name"] or "", r["trigger"], str(r["started_at"])[:19],
             str(r["finished_at"] or "")[:19], r["status"], (r["error"] or "")[:60]]
            for r in result["runs"]]
    emit(table(["run", "job", "model", "trigger", "started", "finished", "status", "error"], rows)
         if rows else "no job runs yet")
    return 0


def show_retrain(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    elif result.get("queued"):
        emit(f"retrain of {args.name} queued as job run {result['run_id']}; follow it with `vigil jobs --job retrain`")
    else:
        emit(f"retrained {result['model']} v{result['version']} (trigger {result['trigger']}, from "
             f"v{result['from_version']}); it is now the challenger — promote it after review")
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


def show_rollback(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    emit(f"{result['model']}: champion rolled back v{result['from_version']} -> v{result['to_version']} "
         f"({result['why']})")
    for check in result.get("preflight", []):
        emit(f"  pre-flight {check['check']}: {'ok' if check['ok'] else 'not checked'} - {check['detail']}")
    return 0


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


def show_user_add(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
    else:
        emit(f"user {result['name']} ({result['role']}) added; their token, shown only now:\n{result['token']}\n"
             "they use it as VIGIL_TOKEN for the CLI, or as 'Authorization: Bearer TOKEN' on the admin API")
    return 0


def show_users(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[u["name"], u["role"], u["created_by"], str(u["created_at"])[:19], str(u["revoked_at"] or "")[:19]]
            for u in result["users"]]
    emit(table(["name", "role", "created by", "created", "revoked"], rows) if rows else
         "no users: everyone on this machine is admin until the first user is added")
    return 0


def show_user_revoke(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"user {result['name']} revoked")
    return 0


def show_whoami(result: Any, args: argparse.Namespace) -> int:
    emit(to_json(result) if args.json else f"{result['name']} ({result['role']}, identified by {result['identity']})")
    return 0


def show_requests(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        emit(to_json(result))
        return 0
    rows = [[r["request_id"], r["status"], r["model_name"], r["version"], r["alias"], r["requested_by"],
             str(r["requested_at"])[:16], r["decided_by"] or "", (r["decision"] or "")[:50]] for r in result["requests"]]
    emit(table(["id", "status", "model", "version", "alias", "by", "requested", "decided by", "decision"], rows)
         if rows else "no pending promotion requests")
    return 0
