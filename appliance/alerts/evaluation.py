"""Turn one window's observations into alert changes: streaks, opening, auto-resolving, muting.

For each rule and each subject it applies to in this window: a breach extends the rule's streak,
and when the streak reaches the rule's `windows` an alert opens — unless one is already open for that
rule, model and subject (then it is only refreshed: one open alert per rule and subject, never a
flood). A window in which the value is back within bounds resets the streak and resolves the open
alert. A subject not observed in a window (no traffic, no labels) changes nothing. An alert that opens
while its rule is muted is recorded with `muted = true` and neither routed nor escalated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appliance.alerts.rules import AlertRule
from appliance.store import alert_queries as aq
from appliance.store.connection import Store


@dataclass(frozen=True, slots=True)
class Observation:
    source: str
    metric: str
    subject: str
    value: float | None
    bounds: tuple[float, float] | None = None  # the subject's calibrated (warning, critical) thresholds, if any
    detail: str | None = None  # what an alert it opens says after the model's name (default: value vs threshold)


@dataclass(frozen=True, slots=True)
class AlertChange:
    kind: str  # 'opened' or 'resolved'
    alert: dict[str, Any]


def evaluate(store: Store, rules: list[AlertRule], model_name: str, observations: list[Observation],
             at: datetime, owner: str | None = None) -> list[AlertChange]:
    """Apply every rule to the window's observations; call inside the check's transaction. An alert that
    opens records `owner` (the model's owner now), which its routing and incident name."""
    changes: list[AlertChange] = []
    for rule in rules:
        for obs in observations:
            if rule.applies(model_name, obs.metric, obs.subject):
                change = _step(store, rule, model_name, obs, at, owner)
                if change is not None:
                    changes.append(change)
    return changes


def _step(store: Store, rule: AlertRule, model_name: str, obs: Observation, at: datetime,
          owner: str | None) -> AlertChange | None:
    if obs.value is None or obs.value != obs.value:  # no value (NaN, too few rows): not observed
        return None
    current = aq.open_alert(store, rule.name, model_name, obs.subject)
    threshold = rule.threshold_for(obs.bounds)
    if not rule.breached(obs.value, threshold):
        aq.set_streak(store, rule.name, model_name, obs.subject, 0, at)
        if current is not None:
            return AlertChange("resolved", aq.resolve_alert(store, int(current["alert_id"]), at))
        return None
    breaches = aq.streak(store, rule.name, model_name, obs.subject) + 1
    aq.set_streak(store, rule.name, model_name, obs.subject, breaches, at)
    if current is not None:
        aq.touch_alert(store, int(current["alert_id"]), obs.value, at)
        return None
    if breaches < rule.windows:
        return None
    muted = aq.active_mute(store, rule.name, model_name, at) is not None
    alert = aq.insert_alert(store, dict(
        rule=rule.name, model_name=model_name, subject=obs.subject, metric=rule.metric, severity=rule.severity,
        value=obs.value, threshold=threshold, windows=breaches, muted=muted, at=at, owner=owner,
        message=f"{model_name}: {obs.detail}" if obs.detail else
                f"{model_name}: {obs.metric} of {obs.subject} is {_fmt(obs.value)}, "
                f"{'above' if rule.above is not None else 'below'} "
                f"{'its calibrated ' if threshold != rule.threshold else ''}{threshold:.4g}"
                + (f" for {breaches} consecutive windows" if breaches > 1 else "")))
    return AlertChange("opened", alert)


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4g}"
