"""A model breaking its latency objective burns its error budget and pages once, with the SLO, the burn rate,
the budget left, the owner and the estimated cost in the page; the owner's own webhook receives it; the CLI
shows the objectives, and its mistakes are one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from console_support import cells, run, until
from daemon_support import Daemon, admin, wait_until

CONFIG = """
[slo.models.delay]
objectives = ["availability", "latency"]
latency_threshold_ms = 0.001
latency_target = 0.99

[owners.models.delay]
team = "risk"
contact = "oncall-risk@example.com"
cost_per_failed_request = 0.5
currency = "EUR"
webhook_url = "{webhook}"
"""


def _pages(daemon: Daemon) -> list[dict[str, Any]]:
    return [a for a in admin(daemon, "alerts", {"all": True})["alerts"] if a["rule"] == "slo-burn-page"]


def test_a_slow_version_burns_the_latency_budget_and_pages_once(
        configured_daemon: Callable[[str], Daemon], sample_records: list[dict[str, Any]], webhook: Any,
        vigil: Callable[..., Any]) -> None:
    daemon = configured_daemon(CONFIG.format(webhook=webhook.url()))
    for start in range(0, 60):  # 60 requests, none within 0.001 ms: every one spends the latency budget
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 1]})[0] == 200
    first = admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    pages = _pages(daemon)
    assert len(pages) == 1 and first["slo"]["errors"] == []  # the rollup job may have judged the burn first
    page = pages[0]
    assert (page["subject"], page["severity"], page["owner"]) == ("latency", "critical",
                                                                  "risk <oncall-risk@example.com>")
    assert page["value"] == round(100 / 14.4, 9)  # 100% slow over a 1% budget: burn 100, threshold 14.4
    message = page["message"]
    assert message.startswith("delay: latency SLO (99% of answered requests within 0.001 ms over 30d) is burning "
                              "its error budget at 100x over 1h and 100x over 5m (page above 14.4x)")
    assert "0.0% of the budget left, already spent" in message
    assert "60 of 60 requests bad in the last 1h (estimated cost 30.00 EUR)" in message
    assert message.endswith("owner risk <oncall-risk@example.com>")
    incident = admin(daemon, "incident_show", {"id": page["incident_id"]})
    assert incident["owner"] == "risk <oncall-risk@example.com>" and incident["title"] == message
    impact = [e["detail"] for e in incident["timeline"] if e["kind"] == "impact"]
    assert impact == ["estimated cost 30.00 EUR: 60 latency failures in the last 1h at 0.5 each"]
    assert "owner risk <oncall-risk@example.com>" in incident["timeline"][0]["detail"]
    second = admin(daemon, "monitor_run", {"names": ["delay"], "window": "1h"})
    assert second["slo"]["opened"] == 0 and len(_pages(daemon)) == 1  # still burning: the one page stays open
    assert len(admin(daemon, "incidents", {"all": True})["incidents"]) == 1
    lines = [json.loads(x) for x in (daemon.home / "alerts.jsonl").read_text().splitlines()]
    routed = [x for x in lines if x["rule"] == "slo-burn-page"]
    assert [x["event"] for x in routed] == ["alert.opened"] and routed[0]["owner"] == "risk <oncall-risk@example.com>"
    owner_pages = wait_until(lambda: [x for x in webhook.received if x["rule"] == "slo-burn-page"], 10)
    assert len(owner_pages) == 1 and owner_pages[0]["message"] == message
    # `vigil slo` through the daemon: the objective's numbers as the page gave them
    shown = vigil("slo", "delay", "--home", daemon.home, "--json")
    assert shown.code == 0, shown.err
    latency = next(o for o in json.loads(shown.out)["models"][0]["objectives"] if o["objective"] == "latency")
    assert (latency["good"], latency["bad"], latency["budget_left"], latency["burn_rate"]) == (0, 60, -99.0, 100.0)
    text = vigil("slo", "delay", "--home", daemon.home)
    assert "owner: risk <oncall-risk@example.com>" in text.out and "latency: page burn over 1h/5m" in text.out
    listed = vigil("models", "--home", daemon.home)
    assert "risk <oncall-risk@example.com>" in listed.out
    # the report: the objectives' table and the budget and burn charts, ending where `vigil slo` stands
    out = daemon.home / "exports" / "out" / "delay.html"
    admin(daemon, "report", {"name": "delay", "window": "7d", "out": str(out)})
    html = out.read_text()
    assert "<h2>Error budgets</h2>" in html and 'data-chart="budget"' in html and 'data-chart="burn"' in html
    assert "<td>estimated cost 30.00 EUR: 60 latency failures in the last 1h at 0.5 each</td>" in html  # incident
    assert "<td>latency</td><td>0.99</td><td>30d</td><td>0.00%</td><td>0 / 60</td><td class=\"critical\">-9900.00%</td>" \
        in html
    _console_shows_the_spent_budget_and_owner(daemon.home)
    burn = html[html.index('data-chart="burn"'):]
    burn = burn[:burn.index("</svg>")]
    assert 'stroke="#dc2626"' in burn or 'fill="#dc2626" class="mark"' in burn  # latency's burn is drawn


def test_cli_mistakes_are_one_line_and_doctor_names_the_unowned_model(
        daemon: Daemon, vigil: Callable[..., Any]) -> None:
    unknown = vigil("slo", "nosuch", "--home", daemon.home)
    assert unknown.code == 2 and len(unknown.err.strip().splitlines()) == 1 and "nosuch" in unknown.err
    assert "Traceback" not in unknown.err
    extra = vigil("slo", "delay", "other", "--home", daemon.home)
    assert extra.code == 2 and len(extra.err.strip().splitlines()) == 1
    doctor = vigil("doctor", "--home", daemon.home)
    assert doctor.code == 1 and doctor.out.strip() == (
        "owner: model delay has no owner; add [owners.models.delay] team and contact to vigil.toml")
    shown = vigil("slo", "--home", daemon.home)
    assert shown.code == 0 and "delay  owner: none (vigil doctor)" in shown.out
    rows = {line.split()[0]: line.split()[1:] for line in shown.out.splitlines()[2:]}
    assert rows["availability"][:2] == ["99.5%", "30d"] and rows["latency"][:2] == ["99%", "30d"]
    assert rows["drift"] == ["90%", "30d", "-", "0/0", "-", "-", "no", "data"]  # no check yet: nothing measured


def _console_shows_the_spent_budget_and_owner(home: Path) -> None:
    from appliance.home import Home
    from tui.app import VigilApp

    async def scenario() -> None:
        app = VigilApp(Home(home), refresh_s=0.5)
        async with app.run_test(size=(200, 48)) as pilot:
            rows = await until(pilot, lambda: cells(app, "models"))
            assert rows[0][9:11] == ["latency -9900%", "risk <oncall-risk@example.com>"]
            await pilot.press("2")  # the alerts screen: the page names its owner
            alerts = await until(pilot, lambda: type(app.screen).__name__ == "AlertsScreen" and cells(app, "alerts"))
            page = next(r for r in alerts if r[4] == "slo-burn-page")
            assert page[-1] == "risk <oncall-risk@example.com>"

    run(scenario)
