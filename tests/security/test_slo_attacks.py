"""Error budgets, burn-rate pages and owners, attacked.

A scoring client (any client: the scoring doors take no token) tries to spend the budget, hide its
spending or page on-call with bodies the service refuses, made-up or hostile model names, reused request
ids, compressed bombs and the MLflow and OIP doors; only the service's own failures may count. Lower roles
try to change what they may only read, with hostile arguments. The owner's text is markup and script, and
must reach the report and the console as written. A hostile `vigil.toml` is refused at load in one line.
An operator running checks again and again neither spends nor hides a check objective's budget. A
handful of failures at night pages nobody; a flood pages once; a burn that stops resolves and a new one
pages again.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, op, start_daemon

TEAM = "<script>alert(1)</script>[/b][link=https://evil.example]"
CONTACT = "a&b <x@y>"
CONFIG = f"""
[slo.models.delay]
objectives = ["availability", "latency", "drift"]

[owners.models.delay]
team = {json.dumps(TEAM)}
contact = {json.dumps(CONTACT)}
cost_per_failed_request = 0.5
currency = "EUR"
"""
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}
ROW = {"sched_dep_time": 1, "distance": 1, "temp": 1, "wind_speed": 1, "visib": 1, "carrier": "UA",
       "origin": "EWR"}


@pytest.fixture(scope="module")
def attacked(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, dict[str, str]]]:
    """A copy of the served home whose model has objectives and a hostile owner's name; ada (admin), otto
    (operator) and vera (viewer)."""
    from appliance.admin_client import call

    home = tmp_path_factory.mktemp("slo-attacks") / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text(CONFIG, encoding="utf-8")
    daemon = start_daemon(home, home.parent / "daemon.log")
    try:
        tokens = {"ada": str(call(str(home), "user_add", {"name": "ada", "role": "admin"})["token"])}
        for name, role in (("otto", "operator"), ("vera", "viewer")):
            status, added = op(daemon, tokens["ada"], "user_add", {"name": name, "role": role})
            assert status == 200, added
            tokens[name] = str(added["token"])
        yield daemon, tokens
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


def _sql(daemon: Daemon, token: str, query: str) -> list[list[Any]]:
    status, found = op(daemon, token, "sql", {"query": query})
    assert status == 200, found
    return list(found["rows"])


def _oip(value: Any, datatype: str = "FP64", shape: list[int] | None = None, **extra: Any) -> bytes:
    numbers = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
    inputs = [{"name": n, "shape": shape or [1], "datatype": datatype, "data": [value]} for n in numbers]
    inputs += [{"name": n, "shape": [1], "datatype": "BYTES", "data": [v]} for n, v in (("carrier", "UA"),
                                                                                        ("origin", "EWR"))]
    return json.dumps({"inputs": inputs, **extra}).encode()


PREDICT = "/v1/models/delay/predict"
HOSTILE = [  # (what, path, body, headers): each the client's mistake, or a model this box does not serve
    ("Infinity token", PREDICT, b'{"records":[%s]}' % json.dumps(ROW).replace('"temp": 1', '"temp": Infinity')
     .encode(), JSON),
    ("NaN token", PREDICT, b'{"records":[%s]}' % json.dumps(ROW).replace('"temp": 1', '"temp": NaN').encode(), JSON),
    ("1e400", PREDICT, b'{"records":[%s]}' % json.dumps(ROW).replace('"temp": 1', '"temp": 1e400').encode(), JSON),
    ("a 401-digit integer", PREDICT, json.dumps({"records": [{**ROW, "temp": 10 ** 400}]}).encode(), JSON),
    ("a lone surrogate", PREDICT, b'{"records":[%s]}' % json.dumps(ROW).replace('"UA"', '"\\ud800"').encode(), JSON),
    ("NUL and ESC", PREDICT, json.dumps({"records": [{**ROW, "carrier": "\x00\x1b[2J"}]}).encode(), JSON),
    ("a list for a number", PREDICT, json.dumps({"records": [{**ROW, "temp": [1]}]}).encode(), JSON),
    ("no rows", PREDICT, json.dumps({"records": []}).encode(), JSON),
    ("too many bytes", PREDICT, json.dumps({"records": [ROW] * 20_000}).encode(), JSON),
    ("a bad request id", PREDICT, json.dumps({"records": [ROW], "request_id": "x" * 500}).encode(), JSON),
    ("an event time far ahead", PREDICT, json.dumps({"records": [ROW], "event_time": "9999-12-31"}).encode(), JSON),
    ("a gzip bomb", PREDICT, gzip.compress(b" " * 30_000_000, 9), {**JSON, "Content-Encoding": "gzip"}),
    ("bad gzip", PREDICT, b"\x1f\x8b not gzip", {**JSON, "Content-Encoding": "gzip"}),
    ("CSV infinity", PREDICT, b"sched_dep_time,distance,temp,wind_speed,visib,carrier,origin\n1,1,inf,1,1,UA,EWR\n",
     CSV),
    ("MLflow: missing columns", "/invocations", b'{"dataframe_split":{"columns":["temp"],"data":[[1]]}}', JSON),
    ("MLflow: a made-up predict_fn", "/invocations",
     json.dumps({"dataframe_records": [ROW], "params": {"predict_fn": "predict_proba; rm"}}).encode(), JSON),
    ("OIP: a shape of 10^12 rows", "/v2/models/delay/infer", _oip(1.0, shape=[10 ** 12]), JSON),
    ("OIP: FP16", "/v2/models/delay/infer", _oip(1.0, "FP16"), JSON),
    ("OIP: an unknown output", "/v2/models/delay/infer", _oip(1.0, outputs=[{"name": "x"}]), JSON),
    ("OIP: a version not answering", "/v2/models/delay/versions/2/infer", _oip(1.0), JSON),
    ("OIP: version 99", "/v2/models/delay/versions/99/infer", _oip(1.0), JSON),
    ("a 10,000-character name", "/v1/models/" + "a" * 10_000 + "/predict", json.dumps({"records": [ROW]}).encode(),
     JSON),
    ("a NUL in the name", "/v1/models/%00delay/predict", json.dumps({"records": [ROW]}).encode(), JSON),
    ("a traversal in the name", "/v1/models/..%2Fdelay/predict", json.dumps({"records": [ROW]}).encode(), JSON),
    ("OIP: a made-up name", "/v2/models/" + "b" * 5000 + "/infer", _oip(1.0), JSON),
]


def test_no_client_spends_or_pages_through_any_scoring_door(attacked: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = attacked
    for what, path, body, headers in HOSTILE:
        status, _, answer = daemon.request("POST", path, raw=body, headers=headers)
        assert 400 <= status < 500, (what, status, answer[:200])
    for _ in range(3):  # one request id reused, on each door: answered, never a server error
        assert daemon.post(PREDICT, {"records": [ROW], "request_id": "reused-1"})[0] == 200
        assert daemon.request("POST", "/v2/models/delay/infer", raw=_oip(1e308, id="reused-1"), headers=JSON)[0] == 200
        assert daemon.post("/invocations", {"dataframe_records": [{**ROW, "temp": -1e308}]},
                           headers={"X-Request-Id": "reused-1"})[0] == 200
    assert op(daemon, tokens["otto"], "monitor_run", {"names": ["delay"], "window": "1h"})[0] == 200
    kept = _sql(daemon, tokens["ada"], "SELECT model_name, status >= 500, count(*) FROM rejected_requests GROUP BY ALL")
    assert [row[:2] for row in kept] == [["delay", False]] and kept[0][2] >= 10  # the served model's 4xx, kept
    assert _sql(daemon, tokens["ada"], "SELECT count(*) FROM failure_rollups") == [[0]]
    status, found = op(daemon, tokens["vera"], "slo", {"name": "delay"})
    assert status == 200, found
    availability = next(o for o in found["models"][0]["objectives"] if o["objective"] == "availability")
    assert (availability["bad"], availability["budget_left"]) == (0, 1.0) and availability["good"] >= 1
    pages = _sql(daemon, tokens["ada"], "SELECT count(*) FROM alerts WHERE rule LIKE 'slo-%' AND subject IN "
                                        "('availability', 'latency')")
    assert pages == [[0]]


READS = ("slo", "doctor", "overview", "alerts", "incidents")


def test_a_viewer_reads_the_budgets_and_changes_nothing_with_hostile_arguments(
        attacked: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = attacked
    for name in READS:
        status, found = op(daemon, tokens["vera"], name, {})
        assert status == 200, (name, found)
    status, found = op(daemon, tokens["vera"], "report", {"name": "delay"})
    assert status == 403 and "vera" in json.dumps(found)
    for token, refused in ((tokens["vera"], 403), (tokens["otto"], 400)):  # no door sets objectives or owners
        status, found = op(daemon, token, "monitor_run", {"names": ["delay"], "window": "1h", "slo": {"x": 1}})
        assert status == refused and ("vera" if refused == 403 else "slo") in json.dumps(found)
    for name, args, field in (
            ("slo", {"name": "x' OR 1=1 --"}, "x' OR 1=1 --"),
            ("slo", {"name": "../../../etc/passwd"}, "../../../etc/passwd"),
            ("slo", {"name": "a" * 100_000}, "name"),
            ("slo", {"name": 5}, "name"),
            ("slo", {"name": "delay", "owner": "me"}, "owner"),
            ("doctor", {"fix": True}, "fix"),
            ("overview", {"name": "delay"}, "name"),
            ("alerts", {"model": "\x00" * 300}, "model"),
            ("incidents", {"all": "yes please"}, "all")):
        status, found = op(daemon, tokens["vera"], name, args)
        assert 400 <= status < 500 and field in json.dumps(found), (name, status, found)
    status, found = op(daemon, tokens["otto"], "report", {"name": "delay", "window": "99999999999d"})
    assert status == 400 and "window" in json.dumps(found)
    status, found = op(daemon, tokens["otto"], "report", {"name": "delay", "out": "../../../../tmp/owned.html"})
    assert 400 <= status < 500 and "out" in json.dumps(found), found
    denied = _sql(daemon, tokens["ada"], "SELECT actor FROM audit_log WHERE action = 'access.denied' AND "
                                         "details->>'operation' = 'report'")
    assert ["vera"] in denied and all(row == ["vera"] for row in denied)


def test_the_owner_reaches_the_report_and_the_cli_as_written(
        attacked: tuple[Daemon, dict[str, str]], vigil: Callable[..., Any]) -> None:
    daemon, tokens = attacked
    out = daemon.home / "exports" / "out" / "delay-budgets.html"
    status, found = op(daemon, tokens["otto"], "report", {"name": "delay", "window": "1d", "out": str(out)})
    assert status == 200, found
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b &lt;x@y&gt;" in html and "<x@y>" not in html
    budgets = html[html.index("<h2>Error budgets</h2>"):]
    assert "<td>availability</td><td>0.995</td><td>30d</td>" in budgets
    status, overview = op(daemon, tokens["vera"], "overview", {})
    assert status == 200 and overview["models"][0]["owner"] == f"{TEAM} <{CONTACT}>"
    shown = vigil("slo", "delay", "--home", daemon.home, env={"VIGIL_TOKEN": tokens["vera"]})
    assert shown.code == 0, shown.err
    assert f"delay  owner: {TEAM} <{CONTACT}>" in shown.out and "\x1b" not in shown.out


def test_the_console_shows_a_markup_owner_as_written(attacked: tuple[Daemon, dict[str, str]]) -> None:
    from console_support import cells, run, until
    from appliance.home import Home
    from tui.app import VigilApp

    daemon, _ = attacked

    async def scenario() -> None:
        app = VigilApp(Home(daemon.home), refresh_s=0.5, show_clock=False)
        async with app.run_test(size=(220, 48)) as pilot:
            rows = await until(pilot, lambda: cells(app, "models"))
            assert rows[0][10].startswith("<script>alert(1)</script>[/b][link=")  # the owner column, as written

    run(scenario)


# -- a hostile vigil.toml: refused at load, one line, exit 2 ------------------------------------------------

HOSTILE_CONFIG = [
    ("[slo.models.delay]\nwindow = \"100000d\"\n", "slo.models.delay.window"),
    ("[slo]\nwindow = \"99999999999999999999d\"\n", "slo.window"),
    ("[slo]\nwindow = \"1m\"\n", "slo.window"),
    ("[slo.models.delay]\nquality_floor = nan\n", "quality_floor"),
    ("[slo.models.delay]\nquality_floor = inf\n", "quality_floor"),
    ("[slo.models.delay]\navailability_target = nan\n", "availability_target"),
    ("[slo.models.delay]\navailability_target = 1.0\n", "availability_target"),
    ("[slo.models.delay]\nlatency_target = 0\n", "latency_target"),
    ("[slo.models.delay]\nlatency_threshold_ms = -1\n", "latency_threshold_ms"),
    ("[slo.models.delay]\nmin_requests = 0\n", "min_requests"),
    ('[owners.models.delay]\nteam = "a\\u001b[2J"\ncontact = "b"\n', "team"),
    ('[owners.models.delay]\nteam = "a\\u009b2J"\ncontact = "b"\n', "team"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "evil\\u202egro.elpmaxe"\n', "contact"),
    ('[owners.models.delay]\nteam = "a"\ncontact = ""\n', "contact"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\ncost_per_failed_request = inf\n', "cost_per_failed_request"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\ncost_per_wrong_decision = 1e308\n', "cost_per_wrong_decision"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\ncost_per_failed_request = -1\n', "cost_per_failed_request"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\nwebhook_url = "file:///etc/passwd"\n', "webhook_url"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\nwebhook_url = "http://"\n', "webhook_url"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\nwebhook_url = "https://bob:hunter2@hooks.example/x"\n',
     "webhook_url"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\nwebhook_url = "http://x.example/\\u001b"\n', "webhook_url"),
    ('[owners.models.delay]\nteam = "a"\ncontact = "b"\nwebhook_url = "http://127.0.0.1:8700/admin/v1/ops/x"\n',
     "webhook_url"),
    ('[alerts]\nwebhook_url = "file:///etc/passwd"\n', "alerts.webhook_url"),
    ('[alerts]\nwebhook_url = "http://localhost:8700/"\n', "alerts.webhook_url"),
]


@pytest.fixture(scope="module")
def idle_home(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("slo-config") / "home"
    shutil.copytree(served_home, home)
    return home


@pytest.mark.parametrize("text,key", HOSTILE_CONFIG, ids=[key for _, key in HOSTILE_CONFIG])
def test_a_hostile_objective_or_owner_is_refused_at_load_in_one_line(
        idle_home: Path, cli: Callable[..., Any], text: str, key: str) -> None:
    (idle_home / "vigil.toml").write_text(text, encoding="utf-8")
    try:
        for command in ("slo", "doctor"):
            done = cli(command, "--home", idle_home)
            assert done.code == 2 and len(done.err.strip().splitlines()) == 1, (command, done.err)
            assert key in done.err and "Traceback" not in done.err and "\x1b" not in done.err
            assert "hunter2" not in done.err
    finally:
        (idle_home / "vigil.toml").unlink()


# -- noise, re-burn and repeated checks, judged on a real store --------------------------------------------

NOW = datetime(2026, 11, 22, 3, 0)  # night


@pytest.fixture
def store_ctx(served_home: Path, tmp_path: Path) -> Iterator[Any]:
    from appliance.home import Home
    from appliance.home.context import open_context

    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text('[slo.models.delay]\nobjectives = ["availability", "drift"]\n'
                                     '[owners.models.delay]\nteam = "risk"\ncontact = "oncall"\n')
    with open_context(Home(home)) as opened:
        yield opened


def _minutes(ctx: Any, end: datetime, minutes: int, answered: int, failed: int) -> None:
    starts = [end - timedelta(minutes=m) for m in range(minutes, 0, -1)]
    ctx.store.append_rows("request_rollups", None, [("delay", 1, s, answered, answered, 1.0 * answered)
                                                    for s in starts])
    ctx.store.append_rows("latency_rollups", None, [("delay", 1, s, 10, answered) for s in starts])
    if failed:
        ctx.store.append_rows("failure_rollups", None, [("delay", s, failed, 0) for s in starts])
    ctx.store.execute("INSERT OR REPLACE INTO rollup_watermarks VALUES ('prediction_log', ?)", [end])


def _pages(ctx: Any) -> list[dict[str, Any]]:
    return ctx.store.rows("SELECT alert_id, resolved_at, owner FROM alerts WHERE rule = 'slo-burn-page' "
                          "ORDER BY alert_id")


def test_noise_pages_nobody_a_flood_pages_once_and_a_new_burn_pages_again(store_ctx: Any) -> None:
    from appliance.monitoring.slo_alerts import check_slos

    ctx = store_ctx
    _minutes(ctx, NOW, 3 * 1440, answered=0, failed=0)  # three silent days
    _minutes(ctx, NOW + timedelta(minutes=5), 5, answered=1, failed=2)  # a handful fail at night: 15 of 15
    assert check_slos(ctx, NOW + timedelta(minutes=5), ["delay"]) == {"opened": 0, "resolved": 0, "errors": []}
    assert _pages(ctx) == []  # under min_requests (20) in every window: no page, however bad the ratio
    _minutes(ctx, NOW + timedelta(minutes=10), 5, answered=10, failed=200)  # a flood
    assert check_slos(ctx, NOW + timedelta(minutes=10), ["delay"])["opened"] >= 1
    for minute in (11, 12):  # still burning: the one page stays open
        _minutes(ctx, NOW + timedelta(minutes=minute), 1, answered=10, failed=200)
        assert check_slos(ctx, NOW + timedelta(minutes=minute), ["delay"])["opened"] == 0
    [page] = _pages(ctx)
    assert page["resolved_at"] is None and page["owner"] == "risk <oncall>"
    _minutes(ctx, NOW + timedelta(minutes=47), 35, answered=100, failed=0)  # the burn stopped 35 minutes ago
    assert check_slos(ctx, NOW + timedelta(minutes=47), ["delay"])["resolved"] >= 1
    assert _pages(ctx)[0]["resolved_at"] is not None
    _minutes(ctx, NOW + timedelta(minutes=55), 8, answered=10, failed=400)  # it burns again
    assert check_slos(ctx, NOW + timedelta(minutes=55), ["delay"])["opened"] >= 1
    first, second = _pages(ctx)
    assert first["resolved_at"] is not None and second["resolved_at"] is None
    incidents = ctx.store.rows("SELECT owner FROM incidents WHERE model_name = 'delay'")
    assert incidents and all(i["owner"] == "risk <oncall>" for i in incidents)


def _check(ctx: Any, end: datetime, verdict: str, trigger: str) -> None:
    drift = ctx.store.scalar(
        "INSERT INTO drift_runs (model_name, version, reference, window_start, window_end, current_rows, "
        "reference_rows, verdict, computed_at, computed_by) VALUES ('delay', 1, 'training', ?, ?, 10, 10, ?, ?, 't') "
        "RETURNING run_id", [end - timedelta(minutes=15), end, verdict, end])
    ctx.store.execute("INSERT INTO monitor_runs (model_name, version, window_start, window_end, drift_run_id, "
                      "computed_at, trigger) VALUES ('delay', 1, ?, ?, ?, ?, ?)",
                      [end - timedelta(minutes=15), end, drift, end, trigger])


def test_checks_run_again_and_again_neither_spend_nor_hide_a_budget(store_ctx: Any) -> None:
    from appliance.monitoring.slo import model_slos

    ctx = store_ctx
    for slot in range(4):  # the schedule: one check every 15 minutes, one of them critical
        _check(ctx, NOW - timedelta(minutes=15 * slot + 1), "critical" if slot == 1 else "ok", "interval")
    for second in range(30):  # an operator's 30 manual checks in one slot, drift critical: still one bad check
        _check(ctx, NOW + timedelta(minutes=3, seconds=second), "critical", "manual")
    for second in range(30):  # 30 "ok" manual checks in the slot of the critical scheduled one: it stays bad
        _check(ctx, NOW - timedelta(minutes=15 + 5, seconds=second), "ok", "manual")
    drift = next(o for o in model_slos(ctx, "delay", NOW + timedelta(minutes=5))["objectives"]
                 if o["objective"] == "drift")
    assert (drift["good"], drift["bad"], drift["total"]) == (3, 2, 5)
    assert drift["latest"] == "critical"


def test_an_unmeasurable_budget_never_breaks_a_view(store_ctx: Any) -> None:
    import argparse

    from appliance.cli.slo_commands import show_slo
    from appliance.monitoring import slo_math as sm
    from appliance.monitoring.slo_view import slo_status
    from appliance.reports.budget_html import budget_section
    from tui.format import budget

    assert sm.exhausted_in(1.0, 1e-9, timedelta(days=30)) is None  # a century or more: not being spent
    assert sm.exhausted_in(1.0, 1e-9, timedelta(days=366)) is None
    ctx = replace(store_ctx)
    status = slo_status(ctx, "delay", now=NOW)  # nothing measured: every value None
    assert all(o["budget_left"] is None and o["exhausted_in"] is None for o in status["models"][0]["objectives"])
    assert show_slo(status, argparse.Namespace(json=False)) == 0
    assert str(budget(None)) == "-"
    section = budget_section({"slo": {"now": status["models"][0], "history": {"step": 3600, "objectives": []}},
                              "window_start": NOW - timedelta(days=1), "window_end": NOW})
    assert "<h2>Error budgets</h2>" in section and "<td>-</td></tr>" in section  # runs out: nothing measured
