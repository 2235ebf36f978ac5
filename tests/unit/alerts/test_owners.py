"""Owners on alerts, incidents, routed payloads and postmortems; `vigil doctor`'s findings; the estimated cost
a drop in accuracy adds to the incident a check opens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from appliance.alerts.evaluation import Observation, evaluate
from appliance.alerts.incidents import escalate, postmortem, show
from appliance.alerts.owners import owner_label, with_owner
from appliance.alerts.routing import payload
from appliance.alerts.rules import AlertRule
from appliance.config import OwnersConfig, SloConfig, VigilConfig
from appliance.errors import ConfigError
from appliance.home import Home
from appliance.home.context import AppContext, open_context
from appliance.monitoring.check_impact import cost_text
from appliance.monitoring.doctor import doctor
from appliance.store import incident_queries as iq

AT = datetime(2026, 11, 22, 12, 0)
BURN = AlertRule(name="slo-burn-page", metric="slo_burn_page", above=1.0, severity="critical")
OWNERS = OwnersConfig.model_validate({"models": {"m": {"team": "risk", "contact": "oncall@example.com",
                                                        "cost_per_wrong_decision": 2.0, "currency": "EUR"}}})


@pytest.fixture
def ctx(home: Path) -> Iterator[AppContext]:
    with open_context(Home(home)) as opened:
        for name in ("m", "orphan"):
            opened.store.execute("INSERT INTO models VALUES (?, 'binary', 'test', 'me', ?)", [name, AT])
        yield replace(opened, config=opened.config.model_copy(update={"owners": OWNERS}))


def test_an_alert_and_its_incident_carry_the_owner_and_the_page_text(ctx: AppContext) -> None:
    owner = owner_label(ctx.config, "m")
    assert owner == "risk <oncall@example.com>" and owner_label(ctx.config, "orphan") is None
    page = Observation("slo", "slo_burn_page", "availability", 6.9, detail="availability SLO is burning")
    with ctx.store.transaction():
        changes = evaluate(ctx.store, [BURN], "m", [page], AT, owner)
        [incident_id] = escalate(ctx.store, changes, AT)
    alert = changes[0].alert
    assert (alert["owner"], alert["message"]) == (owner, "m: availability SLO is burning")
    assert payload(changes[0])["owner"] == owner
    incident = show(ctx.store, incident_id)
    assert incident["owner"] == owner and incident["title"] == "m: availability SLO is burning"
    assert incident["timeline"][0]["detail"] == f"opened by alert {alert['alert_id']}; owner {owner}"
    assert f"- **Owner:** {owner}" in postmortem(ctx.store, incident_id)


def test_an_unowned_models_incident_says_so(ctx: AppContext) -> None:
    with ctx.store.transaction():
        changes = evaluate(ctx.store, [BURN], "orphan", [Observation("slo", "slo_burn_page", "latency", 2.0)], AT,
                           owner_label(ctx.config, "orphan"))
        [incident_id] = escalate(ctx.store, changes, AT)
    assert changes[0].alert["owner"] is None
    assert iq.events(ctx.store, incident_id)[0]["detail"].endswith("; the model has no owner")


def test_doctor_names_the_unowned_model_and_config_naming_no_model(ctx: AppContext) -> None:
    assert [m["owner"] for m in with_owner(ctx.config, [{"name": "m"}, {"name": "orphan"}])] == [
        "risk <oncall@example.com>", None]
    typo = ctx.config.model_copy(update={"slo": SloConfig.model_validate({"models": {"mm": {}}})})
    found = doctor(replace(ctx, config=typo))
    assert not found["ok"] and found["models"] == 2
    assert [(f["check"], f["model"]) for f in found["findings"]] == [("owner", "orphan"), ("config", "mm")]


def test_doctor_names_burn_metrics_that_a_homes_own_rules_never_judge(ctx: AppContext) -> None:
    rules = ctx.home.root / "alerts.toml"
    rules.write_text('[[rule]]\nname = "burn"\nmetric = "slo_burn_page"\nabove = 1.0\nseverity = "critical"\n')
    found = doctor(ctx)
    assert [(f["check"], f["problem"].split(":")[0]) for f in found["findings"] if f["check"] == "alerts"] == [
        ("alerts", "alerts.toml has no rule on slo_burn_ticket"), ("alerts", "alerts.toml has no rule on slo_budget_spent")]
    rules.unlink()  # the built-in rules judge all three
    assert [f for f in doctor(ctx)["findings"] if f["check"] == "alerts"] == []


def test_the_cost_of_a_drop_in_accuracy(ctx: AppContext) -> None:
    ctx.store.execute("INSERT INTO version_metrics (model_name, version, segment_column, segment_value, metric, "
                      "value, row_count) VALUES ('m', 1, NULL, NULL, 'accuracy', 0.8, 100)")
    observations = [Observation("estimates", "estimated_accuracy", "(model)", 0.7),
                    Observation("outcomes", "accuracy", "(model)", 0.75)]  # realized wins over estimated
    text = cost_text(ctx, "m", 1, observations, rows=2000)
    assert text == ("estimated cost 200.00 EUR: accuracy 0.750 against the holdout's 0.800 over 2000 answered rows "
                    "is 100 more wrong answers at 2 each")
    assert cost_text(ctx, "m", 1, observations[:1], rows=2000) is not None  # the estimate, without labels
    assert cost_text(ctx, "orphan", 1, observations, rows=2000) is None  # no owner, no cost


@pytest.mark.parametrize("table,needle", [
    ({"team": "risk"}, "contact"),
    ({"team": "risk", "contact": "x", "webhook_url": "file:///etc/passwd"}, "http"),
    ({"team": "ri\x1bsk", "contact": "x"}, "team"),
])
def test_a_bad_owner_is_refused(home: Path, table: dict, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        VigilConfig.model_validate({"owners": {"models": {"m": table}}})
    lines = "\n".join(f'{k} = "{v}"' for k, v in table.items() if "\x1b" not in v)
    (home / "vigil.toml").write_text(f"[owners.models.m]\n{lines}\n")
    if "\x1b" not in table["team"]:
        from appliance.config import load_config

        with pytest.raises(ConfigError, match="owners.models.m"):
            load_config(home)


def test_the_report_lists_each_incidents_owner_and_estimated_cost(ctx: AppContext) -> None:
    from appliance.monitoring.check_impact import note_cost
    from appliance.reports.html import _alerts
    from appliance.store import report_queries as rpq

    drift = AlertRule(name="drift", metric="psi", above=0.2, severity="critical")
    with ctx.store.transaction():
        changes = evaluate(ctx.store, [drift], "m", [Observation("drift", "psi", "temp", 0.9)], AT,
                           owner_label(ctx.config, "m"))
        incidents = escalate(ctx.store, changes, AT)
        note_cost(ctx, incidents, "estimated cost 200.00 EUR: accuracy 0.750 against the holdout's 0.800", AT)
    [incident] = rpq.incidents_in(ctx.store, "m", AT - timedelta(hours=1), AT + timedelta(hours=1))
    assert (incident["owner"], incident["impact"]) == (
        "risk <oncall@example.com>", "estimated cost 200.00 EUR: accuracy 0.750 against the holdout's 0.800")
    [alert] = rpq.alerts_in(ctx.store, "m", AT - timedelta(hours=1), AT + timedelta(hours=1))
    html = _alerts({"alerts": [alert], "incidents": [incident]})
    assert "<td>m: psi of temp is 0.9, above 0.2</td><td>risk &lt;oncall@example.com&gt;</td>" in html  # the alert
    assert ("<td>risk &lt;oncall@example.com&gt;</td><td>estimated cost 200.00 EUR: accuracy 0.750 against the "
            "holdout&#x27;s 0.800</td>") in html
