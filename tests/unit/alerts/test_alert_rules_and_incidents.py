"""Alert rules, streaks, one open alert per rule and subject, auto-resolve, muting, incidents, routing."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.alerts.evaluation import AlertChange, Observation, evaluate
from appliance.alerts.incidents import acknowledge, escalate, note, postmortem, resolve, show
from appliance.alerts.routing import JSONL_FILE, AlertRouter, WebhookSender
from appliance.alerts.rules import DEFAULT_RULES, AlertRule, load_rules, render_rules
from appliance.clock import utc_now
from appliance.home.context import AppContext, open_context
from appliance.errors import AlertError, ConfigError, NotFound
from appliance.home import Home
from appliance.store import alert_queries as aq

PSI = AlertRule(name="psi-critical", metric="psi", above=0.25, windows=2, severity="critical")


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        yield opened


def _window(ctx: AppContext, value: float | None, subject: str = "temp", rules: list[AlertRule] | None = None,
            minutes: int = 0) -> list[AlertChange]:
    at = utc_now() + timedelta(minutes=minutes)
    with ctx.store.transaction():
        changes = evaluate(ctx.store, rules or [PSI], "m", [Observation("drift", "psi", subject, value)], at)
        escalate(ctx.store, changes, at)
    return changes


def test_default_rules_round_trip_through_toml(home: Path) -> None:
    assert load_rules(home) == DEFAULT_RULES  # no alerts.toml: the built-in rules
    (home / "alerts.toml").write_text(render_rules(DEFAULT_RULES[:3]))
    assert load_rules(home) == DEFAULT_RULES[:3]  # with the file: exactly its rules


@pytest.mark.parametrize("text,needle", [
    ('[[rule]]\nname = "x"\nmetric = "psi"\n', "exactly one of 'above' or 'below'"),
    ('[[rule]]\nname = "x"\nmetric = "wobble"\nabove = 1\n', "metric"),
    ('[[rule]]\nname = "x"\nmetric = "psi"\nabove = 1\nwindows = 0\n', "windows"),
    ('[[rule]]\nname = "x"\nmetric = "psi"\nabove = 1\n[[rule]]\nname = "x"\nmetric = "js"\nabove = 1\n', "unique"),
    ('[rules]\n', "unknown table"),
    ('[[rule]\n', "not valid TOML"),
])
def test_bad_rules_files_name_the_problem(home: Path, text: str, needle: str) -> None:
    (home / "alerts.toml").write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_rules(home)


def test_an_alert_opens_after_consecutive_windows_once_and_resolves_itself(ctx: AppContext) -> None:
    assert _window(ctx, 0.30) == []  # one breaching window of two
    opened = _window(ctx, 0.31, minutes=1)
    assert [c.kind for c in opened] == ["opened"]
    alert = opened[0].alert
    assert (alert["rule"], alert["subject"], alert["windows"], alert["status"]) == ("psi-critical", "temp", 2, "open")
    assert _window(ctx, 0.50, minutes=2) == []  # still breaching: the open alert is refreshed, not repeated
    assert aq.open_alert(ctx.store, "psi-critical", "m", "temp")["value"] == 0.50  # type: ignore[index]
    assert _window(ctx, None, minutes=3) == []  # not observed: nothing changes
    resolved = _window(ctx, 0.05, minutes=4)
    assert [c.kind for c in resolved] == ["resolved"] and resolved[0].alert["alert_id"] == alert["alert_id"]
    assert _window(ctx, 0.3, minutes=5) == []  # the streak starts again from zero
    again = _window(ctx, 0.3, minutes=6)
    assert [c.kind for c in again] == ["opened"] and again[0].alert["alert_id"] != alert["alert_id"]
    count = ctx.store.scalar("SELECT count(*) FROM alerts WHERE rule = 'psi-critical'")
    assert count == 2


def test_subjects_are_independent_and_a_muted_rule_records_without_escalating(ctx: AppContext) -> None:
    rule = AlertRule(name="one", metric="psi", above=0.25, windows=1, severity="critical")
    with ctx.store.transaction():
        aq.insert_mute(ctx.store, dict(rule="one", model_name="m", until=utc_now() + timedelta(hours=1),
                                       muted_by="me", muted_at=utc_now(), reason="maintenance"))
    changes = _window(ctx, 0.9, "temp", [rule]) + _window(ctx, 0.9, "humid", [rule])
    assert [(c.kind, c.alert["subject"], c.alert["muted"]) for c in changes] == [
        ("opened", "temp", True), ("opened", "humid", True)]
    assert ctx.store.scalar("SELECT count(*) FROM incidents") == 0
    assert AlertRouter(ctx.home.root, jsonl=True, webhook_url="", timeout_s=1, attempts=1,
                       backoff_s=0).deliver(changes) is None
    assert not (ctx.home.root / JSONL_FILE).exists()  # muted alerts are not routed


def test_critical_alerts_open_one_incident_with_a_timeline(ctx: AppContext) -> None:
    rule = AlertRule(name="crit", metric="psi", above=0.25, windows=1, severity="critical")
    warn = AlertRule(name="warn", metric="psi", above=0.1, windows=1, severity="warning")
    first = _window(ctx, 0.4, "temp", [rule, warn])
    assert sorted(c.alert["rule"] for c in first) == ["crit", "warn"]
    _window(ctx, 0.5, "humid", [rule])
    incidents = ctx.store.rows("SELECT * FROM incidents")
    assert len(incidents) == 1  # the second critical alert joined the open incident
    incident_id = int(incidents[0]["incident_id"])
    linked = ctx.store.execute("SELECT rule, subject FROM alerts WHERE incident_id = ? ORDER BY alert_id",
                               [incident_id])
    assert linked == [("crit", "temp"), ("crit", "humid")]  # the warning is not part of it
    acknowledge(ctx.store, incident_id, "alice")
    note(ctx.store, incident_id, "alice", "humidity sensor at EWR replaced")
    _window(ctx, 0.01, "temp", [rule])
    with pytest.raises(AlertError, match="resolution"):
        resolve(ctx.store, incident_id, "alice", " ")
    resolve(ctx.store, incident_id, "alice", "sensor fixed; drift cleared")
    shown = show(ctx.store, incident_id)
    assert shown["status"] == "resolved" and shown["acknowledged_by"] == "alice"
    assert [e["kind"] for e in shown["timeline"]] == ["opened", "alert", "alert", "acknowledged", "note",
                                                      "alert_resolved", "resolved"]
    text = postmortem(ctx.store, incident_id)
    assert "# Postmortem: incident" in text and "humidity sensor at EWR replaced" in text
    assert "**Resolution:** sensor fixed; drift cleared" in text and "| crit | humid | critical |" in text
    with pytest.raises(AlertError, match="already resolved"):
        acknowledge(ctx.store, incident_id, "bob")
    with pytest.raises(NotFound, match="no incident 999"):
        show(ctx.store, 999)
    mttr = ctx.store.row("SELECT count(*) AS n FROM incidents WHERE status = 'resolved'")
    assert mttr == {"n": 1}
    audited = ctx.store.execute("SELECT action, actor FROM audit_log WHERE action LIKE 'incident.%' ORDER BY id")
    assert audited == [("incident.open", "vigil"), ("incident.acknowledge", "alice"), ("incident.note", "alice"),
                       ("incident.resolve", "alice")]


def test_routing_writes_json_lines_and_retries_the_webhook(ctx: AppContext, webhook: Any) -> None:
    rule = AlertRule(name="one", metric="psi", above=0.25, windows=1, severity="warning")
    changes = _window(ctx, 0.9, "temp", [rule])
    router = AlertRouter(ctx.home.root, jsonl=True, webhook_url=webhook.url(failures=2), timeout_s=2, attempts=4, backoff_s=0.01)
    router.deliver(changes)
    router.close(timeout=10)
    lines = [json.loads(line) for line in (ctx.home.root / JSONL_FILE).read_text().splitlines()]
    assert [(x["event"], x["rule"], x["subject"]) for x in lines] == [("alert.opened", "one", "temp")]
    assert [x["alert_id"] for x in webhook.received] == [changes[0].alert["alert_id"]]  # after two 500s
    assert router.webhook is not None and (router.webhook.sent, router.webhook.failed) == (1, 0)


def test_a_dead_webhook_never_blocks_and_gives_up(ctx: AppContext) -> None:
    rule = AlertRule(name="one", metric="psi", above=0.25, windows=1)
    changes = _window(ctx, 0.9, "temp", [rule])
    sender = WebhookSender("http://127.0.0.1:9/nothing-listens-here", timeout_s=0.5, attempts=2, backoff_s=0.01)
    started = time.monotonic()
    sender.send(changes * 3)
    assert time.monotonic() - started < 0.1  # queued, not sent inline
    sender.close(timeout=10)
    assert (sender.sent, sender.failed) == (0, 3)


def test_automatic_promotion_pauses_while_a_critical_alert_is_open(ctx: AppContext) -> None:
    from appliance.alerts.gates import promotion_paused

    rule = AlertRule(name="crit", metric="psi", above=0.25, windows=1, severity="critical")
    assert promotion_paused(ctx.store, "m") is None
    _window(ctx, 0.9, "temp", [rule])
    assert promotion_paused(ctx.store, "m") == "1 open critical alert(s): crit (temp)"
    _window(ctx, 0.0, "temp", [rule], minutes=1)
    assert promotion_paused(ctx.store, "m") is None


def test_the_monitor_watches_the_homes_free_disk(home: Path) -> None:
    import shutil

    from appliance.monitoring.monitor import monitor

    (Path(home) / "alerts.toml").write_text(  # a limit every disk breaks, to see the rule fire
        '[[rule]]\nname = "disk-low"\nmetric = "disk_free_share"\nbelow = 1.01\nwindows = 1\nseverity = "critical"\n')
    with open_context(Home(home)) as opened:
        result = monitor(opened, None, window="15m", trigger="manual", actor="ann")
        usage = shutil.disk_usage(home)
        assert result["disk_free_share"] == pytest.approx(usage.free / usage.total, abs=0.01)
        alerts = aq.list_alerts(opened.store, include_resolved=False, model_name=None)
        assert [(a["rule"], a["model_name"], a["subject"], a["severity"]) for a in alerts] == [
            ("disk-low", "(daemon)", "home", "critical")]
        assert opened.store.scalar("SELECT count(*) FROM incidents WHERE model_name = '(daemon)'") == 1
    assert any(r.name == "disk-low" and r.below == 0.1 for r in DEFAULT_RULES)
