"""Roles and the least role each operation needs.

Roles are ordered, each including the ones before it: viewer (read everything), operator (run
checks, acknowledge and resolve incidents, mute alerts, train, retrain, promote, roll back, export to the lake),
approver (approve and reject promotion requests, place audit holds), admin (users, API keys,
contracts, policy, releasing holds, running retention by hand, trusted imports of files that run
code when loaded, trusting a team's code).
An operation not listed needs admin, so a new mutation is closed until someone opens it.
"""

from __future__ import annotations

ROLES = ("viewer", "operator", "approver", "admin")

_VIEWER = {"models", "versions", "show", "sql", "reproduce", "contract_export", "contract_check", "migrate_status",
           "api_key_list", "outcomes", "quality", "system", "dashboard", "alerts", "alert_rules", "incidents",
           "incident_show", "incident_postmortem", "jobs", "audit_verify", "audit_export", "explain_request",
           "user_list", "whoami", "requests", "retention_status", "hold_list",
           "overview", "drift_view", "audit_log", "request_show", "job_schedule",
           "rollback_plan", "keys_show", "keys_list", "datasheet", "reports", "code_list"}
_OPERATOR = {"drift", "monitor_run", "alert_mute", "incident_ack", "incident_note", "incident_resolve", "train",
             "import", "retrain", "promote", "rollback", "bundle_export", "bundle_import", "datasheet_edit", "score",
             "export",
             "datasheet_regenerate", "report"}
_APPROVER = {"approve", "reject", "hold_add"}
_ADMIN = {"import_trusted", "user_add", "user_revoke", "api_key_add", "api_key_revoke", "contract_apply", "hold_release", "backup", "keys_init", "keys_trust", "keys_distrust",
          "retention_run"}


def required_role(operation: str) -> str:
    if operation in _VIEWER:
        return "viewer"
    if operation in _OPERATOR:
        return "operator"
    if operation in _APPROVER:
        return "approver"
    return "admin"


def allows(role: str, operation: str) -> bool:
    return ROLES.index(role) >= ROLES.index(required_role(operation))
