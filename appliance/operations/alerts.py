"""Alerting's operations: alerts, their rules and muting, incidents and their timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.operations.declaration import NO_ARGS, Cli, Declared, OperationSpec, arg, opt

if TYPE_CHECKING:
    from appliance.home.context import AppContext


def _alerts(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.clock import utc_now
    from appliance.store import alert_queries as aq

    return {"alerts": aq.list_alerts(ctx.store, include_resolved=bool(a.get("all")), model_name=a.get("model")),
            "mutes": aq.list_mutes(ctx.store, utc_now())}


def _alert_rules(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.rules import RULES_FILE, load_rules, render_rules

    rules = load_rules(ctx.home.root)
    return {"source": str(ctx.home.root / RULES_FILE) if (ctx.home.root / RULES_FILE).exists() else "built-in",
            "rules": [r.model_dump() for r in rules], "toml": render_rules(rules)}


def _alert_mute(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.muting import mute

    return mute(ctx, a["rule"], a.get("model") or "*", a["duration"], a.get("reason", ""), a["actor"])


def _incidents(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import list_incidents

    return list_incidents(ctx.store, bool(a.get("all")))


def _incident_show(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incident_context import incident_view

    return incident_view(ctx.store, int(a["id"]))


def _incident_ack(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import acknowledge

    return acknowledge(ctx.store, int(a["id"]), a["actor"])


def _incident_note(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import note

    return note(ctx.store, int(a["id"]), a["actor"], a.get("text", ""))


def _incident_resolve(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import resolve

    return resolve(ctx.store, int(a["id"]), a["actor"], a.get("resolution", ""))


def _incident_postmortem(ctx: AppContext, a: dict[str, Any]) -> Any:
    from appliance.alerts.incidents import postmortem

    return {"markdown": postmortem(ctx.store, int(a["id"]))}


GROUPS = {"incident": "show, acknowledge, annotate, resolve an incident; export a postmortem"}

_SHOW = "alert_commands."
COMMANDS: dict[str, Declared] = {
    "alerts": OperationSpec(_alerts, writes=False, args_model="monitoring.Alerts", role="viewer", cli=Cli(
        "alerts", "open alerts (and the rules, and muting)",
        (opt("all", "also resolved alerts"), opt("model", "only this model's alerts")), show=_SHOW + "show_alerts")),
    "alert_rules": OperationSpec(_alert_rules, writes=False, args_model=NO_ARGS, role="viewer", cli=Cli(
        "alerts rules", "the alert rules in force, as alerts.toml text", show=_SHOW + "show_alert_rules")),
    "alert_mute": OperationSpec(_alert_mute, writes=True, args_model="monitoring.AlertMute", role="operator", cli=Cli(
        "alerts mute", "mute a rule for a while (its alerts are recorded, not routed)",
        (arg("rule"), opt("model", "only for this model (default: every model)"),
         opt("duration", "how long, e.g. 2h, 1d", flag="--for", metavar="SPAN"), opt("reason", required=True)),
        show=_SHOW + "show_alert_mute")),
    "incidents": OperationSpec(_incidents, writes=False, args_model="registry.Listing", role="viewer", cli=Cli(
        "incidents", "open incidents and MTTR", (opt("all", "also resolved incidents"),),
        show=_SHOW + "show_incidents")),
    "incident_show": OperationSpec(_incident_show, writes=False, args_model="monitoring.Incident", role="viewer",
                                   cli=Cli("incident show", "the incident, its timeline, the drift that opened it and the "
                                                   "alias moves around it", (arg("id"),),
                                           show=_SHOW + "show_incident")),
    "incident_ack": OperationSpec(_incident_ack, writes=True, args_model="monitoring.Incident", role="operator",
                                  cli=Cli("incident ack", "acknowledge it (you are on it)", (arg("id"),),
                                          show=_SHOW + "show_incident")),
    "incident_note": OperationSpec(_incident_note, writes=True, args_model="monitoring.IncidentNote", role="operator",
                                   cli=Cli("incident note", "add a note to its timeline",
                                           (arg("id"), arg("text", required=True)), show=_SHOW + "show_incident")),
    "incident_resolve": OperationSpec(_incident_resolve, writes=True, args_model="monitoring.IncidentResolve",
                                      role="operator", cli=Cli(
        "incident resolve", "resolve it", (arg("id"), opt("resolution", "what fixed it", required=True)),
        show=_SHOW + "show_incident")),
    "incident_postmortem": OperationSpec(_incident_postmortem, writes=False, args_model="monitoring.Incident",
                                         role="viewer", cli=Cli(
        "incident postmortem", "a Markdown postmortem drafted from its timeline", (arg("id"),),
        show=_SHOW + "show_postmortem")),
}
