"""An incident's one-line summary, which a rollback's reason starts from."""

from __future__ import annotations

from typing import Any

from appliance.alerts.incident_context import summary


def _alert(rule: str, metric: str, subject: str, severity: str = "critical") -> dict[str, Any]:
    return {"rule": rule, "metric": metric, "subject": subject, "severity": severity}


def test_critical_drift_alerts_are_named_by_their_features_once_each_in_order() -> None:
    alerts = [_alert("drift-critical", "psi", "humid"), _alert("drift-warning", "psi", "temp", "warning"),
              _alert("drift-critical", "psi", "dewp"), _alert("missing-values-rising", "missing_increase", "humid")]
    assert summary(alerts, "title") == "critical drift in humid, dewp"


def test_other_critical_alerts_follow_by_rule_and_without_critical_alerts_the_title_stands() -> None:
    alerts = [_alert("canary-rollback", "error_rate", "(model)"), _alert("drift-critical", "psi", "temp")]
    assert summary(alerts, "title") == "critical drift in temp; critical canary-rollback on (model)"
    assert summary([_alert("latency-p99", "p99_latency_ms", "(model)", "warning")], "slow") == "slow"
