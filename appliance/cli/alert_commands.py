"""How `vigil monitor run`, `alerts`, `incidents`, `incident …` and `jobs` print their operation's result."""

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
             a["value"], str(a["opened_at"])[:19], "muted" if a["muted"] else "", a["incident_id"] or "",
             a.get("owner") or "none"] for a in result["alerts"]]
    emit(table(["id", "status", "severity", "model", "rule", "subject", "value", "opened", "", "incident", "owner"],
               rows)
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
    rows = [[i["incident_id"], i["status"], i["model_name"], i.get("owner") or "none", str(i["opened_at"])[:19],
             i["acknowledged_by"] or "", str(i["resolved_at"] or "")[:19], i["title"][:60]] for i in result["incidents"]]
    emit(table(["id", "status", "model", "owner", "opened", "acknowledged by", "resolved", "title"], rows)
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
         f"{'to resolve' if result['resolved_at'] else 'so far'}; owner {result.get('owner') or 'none'}")
    for event in result["timeline"]:
        emit(f"  {str(event['at_time'])[:19]}  {event['kind']:<15} {event['actor']:<14} {event['detail']}")
    _show_context(result)
    return 0


def _show_context(result: dict[str, Any]) -> None:
    """`incident show`'s extra: the drift run that opened it and the alias moves around it."""
    drift = result.get("drift")
    if drift:
        run = drift["run"]
        emit(f"drift that opened it: run {run['run_id']} of v{run['version']} ({run['verdict']}): " + ", ".join(
            f"{f['feature']} PSI {f['psi']:.3f} {f['verdict']}" for f in drift["features"] if f["psi"] is not None))
    if "deployments" in result:
        emit(f"alias moves since {str(result['deployments_since'])[:19]}:" if result["deployments"]
             else f"no alias moves since {str(result['deployments_since'])[:19]}")
        for d in result["deployments"]:
            emit(f"  {str(d['changed_at'])[:19]}  {d['kind']:<8} {d['alias']} v{d['from_version'] or '-'} -> "
                 f"v{d['to_version'] or '-'} by {d['actor']}: {d['reason']}")


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

