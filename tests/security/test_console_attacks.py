"""The on-call console and its doors, attacked through a real daemon.

Stored text is anyone's: a training file's column name, a reason, a note, a query. Shown by the
console it must read as written (a `[/b]` neither stops a screen from drawing nor restyles it, a
`[link=...]` is no link) and never drive the terminal (an escape sequence is shown escaped). A viewer's
console changes nothing and is named in every refusal; the rollback's pre-flight, which any viewer may
ask for, is shared rather than run once per caller; the already-champion refusal holds on every door;
and the CLI's colour and progress never reach what a program reads.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import pytest

from console_support import cells, notes, run, until
from daemon_support import BAND_LENIENT, Daemon, op, start_daemon
from support import SPEC, VIGIL

pytest.importorskip("textual")

FEATURE = "[/b][link=https://evil.example]te\x1b[2Jmp"  # a column of the training file
HOSTILE = "[/b][link=https://evil.example]click[/link][red]x\x1b]0;owned\x07"  # typed into reasons and notes
SEEN = "[/b][link=https://evil.example]"  # what of both must be on screen as written


@pytest.fixture(scope="module")
def hostile(flights_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, dict[str, str]]]:
    """A daemon serving 'hostile', trained on a file whose `temp` column is named FEATURE: v1 champion, v2
    approved over it (reason HOSTILE), drifted in FEATURE with an open incident holding a HOSTILE note, and
    a pending request to bring v1 back; users ada (admin), otto (operator), alice and bob (approvers),
    vera (viewer)."""
    from appliance.admin_client import call
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("console-attacks")
    data = root / "flights.parquet"
    pl.read_parquet(flights_small).rename({"temp": FEATURE}).write_parquet(data)
    home = root / "home"
    assert main(["init", "--home", str(home)]) == 0
    for seed in (7, 8):
        spec = root / f"spec{seed}.toml"
        spec.write_text(SPEC.format(model="hostile", seed=seed, source=f'path = "{data.as_posix()}"',
                                    estimator="hist_gradient_boosting", params="{ max_iter = 20 }")
                        .replace('"temp"', json.dumps(FEATURE)), encoding="utf-8")
        assert main(["train", "--spec", str(spec), "--home", str(home), "--reason", HOSTILE]) == 0
    assert main(["promote", "hostile", "1", "--to", "champion", "--reason", HOSTILE, "--home", str(home)]) == 0
    (home / "vigil.toml").write_text("[jobs]\ndrift_retrain_windows = 0\n")
    daemon = start_daemon(home, root / "daemon.log", env=BAND_LENIENT)  # v1 may be requested back
    try:
        tokens = {"ada": str(call(str(home), "user_add", {"name": "ada", "role": "admin"})["token"])}  # bootstrap
        for name, role in (("otto", "operator"), ("alice", "approver"), ("bob", "approver"), ("vera", "viewer")):
            status, added = op(daemon, tokens["ada"], "user_add", {"name": name, "role": role})
            assert status == 200, added
            tokens[name] = str(added["token"])
        rows = pl.read_parquet(data).drop_nulls().tail(120).select(
            ["sched_dep_time", "distance", FEATURE, "wind_speed", "visib", "carrier", "origin"]).to_dicts()
        for start in range(0, 40, 2):  # v1 answers some traffic (the rollback's pre-flight re-scores it)
            assert daemon.post("/v1/models/hostile/predict", {"records": rows[start:start + 2]})[0] == 200
        status, request = op(daemon, tokens["otto"], "promote",
                             {"name": "hostile", "version": 2, "alias": "champion", "reason": HOSTILE})
        assert status == 200, request
        status, found = op(daemon, tokens["alice"], "approve", {"id": request["request_id"]})
        assert status == 200, found
        status, pending = op(daemon, tokens["otto"], "promote",
                             {"name": "hostile", "version": 1, "alias": "champion", "reason": HOSTILE})
        assert status == 200 and pending["status"] == "pending", pending  # filed before the incident opens
        hot = [{**r, FEATURE: float(r[FEATURE]) + 45.0} for r in rows]
        for start in range(0, len(hot), 40):
            assert daemon.post("/v1/models/hostile/predict", {"records": hot[start:start + 40]})[0] == 200
        for _ in range(2):  # drift rules need two consecutive windows
            assert op(daemon, tokens["ada"], "monitor_run", {"names": ["hostile"], "window": "1h"})[0] == 200
        status, incidents = op(daemon, tokens["ada"], "incidents", {"all": True})
        assert status == 200 and incidents["incidents"], incidents
        incident = incidents["incidents"][0]["incident_id"]
        assert op(daemon, tokens["otto"], "incident_note", {"id": incident, "text": HOSTILE})[0] == 200
        tokens["incident"], tokens["pending"] = str(incident), str(pending["request_id"])
        yield daemon, tokens
    finally:
        if daemon.process.poll() is None:
            daemon.stop()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)


def _app(home: Path) -> Any:
    from appliance.home import Home
    from tui.app import VigilApp

    return VigilApp(Home(home), refresh_s=0.5, show_clock=False)


def _on(app: Any, name: str) -> bool:
    return type(app.screen).__name__ == name


def painted(app: Any) -> str:
    """Everything the current screen sends to the terminal, as text."""
    update = app.screen._compositor.render_update(full=True)
    return "\n".join("".join(segment.text for segment in strip) for strip in update.strips)


def _text(app: Any, selector: str) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(selector))


def read(markup: str) -> str:
    """A notification's markup as it reads on screen."""
    from textual.content import Content

    return Content.from_markup(markup).plain


def _clean(app: Any) -> str:
    """The screen as painted, after checking nothing in it drives the terminal and the app still runs."""
    shown = painted(app)
    assert "\x1b" not in shown and "\x07" not in shown, repr(shown[:400])
    assert app.is_running
    return shown


# -- 1. stored text on every screen --------------------------------------------------------------------


def test_hostile_text_is_shown_as_written_on_every_screen(hostile: tuple[Daemon, dict[str, str]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, tokens = hostile
    monkeypatch.setenv("VIGIL_TOKEN", tokens["ada"])
    incident = tokens["incident"]

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(200, 60)) as pilot:
            await until(pilot, lambda: _on(app, "OverviewScreen") and cells(app, "models"))
            assert "[/b][lin" in _clean(app)  # the worst-drift cell starts the feature's name, as written
            await pilot.press("colon", *f"incident {incident}", "enter")
            await until(pilot, lambda: _on(app, "IncidentScreen") and cells(app, "timeline"))
            await until(pilot, lambda: cells(app, "drift"))
            assert any(SEEN in c[0] and "te\\x1b[2Jmp" in c[0] for c in cells(app, "drift"))
            assert any(SEEN in c[3] for c in cells(app, "timeline"))  # the note, as typed
            assert SEEN in _text(app, "#incident-summary") and "te\\x1b[2Jmp" in _text(app, "#incident-summary")
            assert SEEN in _text(app, "#postmortem")
            _clean(app)
            await pilot.press("R")  # the rollback's confirmation, and its reason pre-filled from the incident
            await until(pilot, lambda: _on(app, "Confirm"))
            _clean(app)
            await pilot.press("y")
            asked = await until(pilot, lambda: _on(app, "Ask") and app.screen.query_one("#answer").value)
            assert SEEN in asked and "\x1b" not in asked
            _clean(app)
            await pilot.press("escape", "escape")
            await pilot.press("colon", *"model hostile", "enter")
            await until(pilot, lambda: _on(app, "ModelScreen") and "reason: " in _text(app, "#lineage"))
            await pilot.pause(0.5)
            lineage = _text(app, "#lineage")
            assert SEEN in _text(app, "#evidence"), _text(app, "#evidence")
            assert f"reason: {SEEN}" in lineage and "importance: " in lineage
            _clean(app)
            await pilot.press("d")
            await until(pilot, lambda: _on(app, "DriftScreen") and cells(app, "features"))
            assert any(SEEN in c[0] for c in cells(app, "features"))
            _clean(app)
            await pilot.press("escape", "escape", "3")  # approvals: the pending request's reason in its dialog
            await until(pilot, lambda: _on(app, "ApprovalsScreen") and cells(app, "requests"))
            await pilot.press("A")
            await until(pilot, lambda: _on(app, "Confirm"))
            assert f"Requested by otto: {SEEN}click" in _text(app, "Static")
            _clean(app)
            await pilot.press("n", "5")  # audit: a row in full, and a filter looking for the attack
            await until(pilot, lambda: _on(app, "AuditScreen") and cells(app, "audit"))
            await pilot.press("slash", *"[/b]")
            await until(pilot, lambda: "filter '[/b]'" in _text(app, "#chain"))
            rows = await until(pilot, lambda: cells(app, "audit"))
            assert all("[/b]" in " ".join(r) or "reason" for r in rows)
            await pilot.press("enter")
            app.screen.query_one("#audit").focus()
            await pilot.press("enter")
            body = await until(pilot, lambda: _on(app, "TextView") and _text(app, "#text-view-body"))
            assert SEEN in body
            _clean(app)
            await pilot.press("escape", "escape", "6")  # SQL: a column named in markup, an error quoting it
            await pilot.pause(0.2)
            await pilot.press(*'SELECT 1 AS "[/b]x"', "enter")
            await until(pilot, lambda: cells(app, "result") == [["1"]])
            assert str(list(app.screen.query_one("#result").columns.values())[0].label) == "[/b]x"
            _clean(app)
            query = app.screen.query_one("#query")
            query.value = ""
            await pilot.press(*"SELECT [/b] FROM nowhere", "enter")
            await until(pilot, lambda: "error" in _text(app, "#sql-status"))
            _clean(app)
            await pilot.press("escape")
            await until(pilot, lambda: _on(app, "OverviewScreen"))
            await pilot.press("colon", *"request [/b][link=x]", "enter")  # a request id as typed
            said = await until(pilot, lambda: [n for n in notes(app) if "no logged prediction" in n])
            assert "request_id '[/b][link=x]'" in read(said[-1]) and app.is_running

    run(scenario)


def test_an_alert_in_full_and_a_notification_show_control_characters_escaped(
        hostile: tuple[Daemon, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, tokens = hostile
    monkeypatch.setenv("VIGIL_TOKEN", tokens["ada"])

    async def scenario() -> None:
        from tui.text_view import TextView

        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: cells(app, "models"))
            app.notify(HOSTILE, severity="error")
            app.push_screen(TextView(f"alert 1: psi on {FEATURE}", HOSTILE))
            body = await until(pilot, lambda: _on(app, "TextView") and _text(app, "#text-view-body"))
            assert body.startswith(SEEN) and "\\x1b]0;owned\\x07" in body
            assert "\\x1b[2Jmp" in _text(app, ".dialog-title")
            _clean(app)
            said = [read(n) for n in notes(app)]
            assert [n for n in said if n.startswith(SEEN) and "\\x1b]0;owned" in n and "\x1b" not in n], said

    run(scenario)


# -- 2. roles through the console ----------------------------------------------------------------------


def test_a_viewer_console_changes_nothing_and_each_refusal_names_the_viewer(
        hostile: tuple[Daemon, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    daemon, tokens = hostile
    monkeypatch.setenv("VIGIL_TOKEN", tokens["vera"])
    monkeypatch.setenv("USER", "ada")  # a forged environment names nobody
    monkeypatch.setenv("LOGNAME", "ada")
    before = op(daemon, tokens["ada"], "audit_log", {"filter": "", "limit": 1})[1]["rows"][0]["id"]

    async def refused(pilot: Any, app: Any, operation: str) -> None:
        try:
            await until(pilot, lambda: [n for n in notes(app) if f"vera (viewer) may not run '{operation}'" in n],
                        timeout=10)
        except AssertionError:
            raise AssertionError(f"{operation}: {type(app.screen).__name__} {notes(app)}") from None

    async def answer(pilot: Any, app: Any, text: str) -> None:
        await until(pilot, lambda: _on(app, "Ask") and not app.screen.query_one("#answer").value)
        await pilot.press(*text, "enter")

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(200, 60)) as pilot:
            await until(pilot, lambda: cells(app, "models") and "vera (viewer)" in str(app.status_line()))
            await pilot.press("R")
            await until(pilot, lambda: _on(app, "Confirm"))
            await pilot.press("y")  # the plan is a viewer's to read; the rollback is not
            await answer(pilot, app, "why not")
            await refused(pilot, app, "rollback")
            await pilot.press("colon", *"rb hostile", "enter")
            await until(pilot, lambda: _on(app, "Confirm"))
            await pilot.press("y")
            await answer(pilot, app, "again")
            await until(pilot, lambda: len([n for n in notes(app) if "may not run 'rollback'" in n]) == 2)
            await pilot.press("2")
            await until(pilot, lambda: _on(app, "AlertsScreen") and cells(app, "incidents"))
            await pilot.press("a")
            await until(pilot, lambda: _on(app, "ConfirmLine"))
            await pilot.press("y")
            await refused(pilot, app, "incident_ack")
            await pilot.press("n")
            await answer(pilot, app, "hello")
            await refused(pilot, app, "incident_note")
            await pilot.press("S")
            await answer(pilot, app, "fixed")
            await refused(pilot, app, "incident_resolve")
            await pilot.press("3")
            await until(pilot, lambda: _on(app, "ApprovalsScreen") and cells(app, "requests"))
            await pilot.press("A")
            await until(pilot, lambda: _on(app, "Confirm"))
            await pilot.press("y")
            await refused(pilot, app, "approve")
            await pilot.press("X")
            await answer(pilot, app, "no")
            await refused(pilot, app, "reject")
            await pilot.press("4")
            await until(pilot, lambda: _on(app, "JobsScreen"))
            await pilot.press("T")
            await answer(pilot, app, "hostile")
            await answer(pilot, app, "why")
            await refused(pilot, app, "retrain")
            await pilot.press("m")
            await refused(pilot, app, "monitor_run")
            await pilot.press("7")
            await until(pilot, lambda: _on(app, "ReportsScreen"))
            await pilot.press("w")
            await answer(pilot, app, "hostile")
            await until(pilot, lambda: _on(app, "Ask") and app.screen.query_one("#answer").value == "7d")
            await pilot.press("enter")
            await refused(pilot, app, "report")

    run(scenario)
    after = op(daemon, tokens["ada"], "audit_log", {"filter": "", "limit": 60})[1]["rows"]
    new = [r for r in after if r["id"] > before]
    assert new and all(r["action"] == "access.denied" and r["actor"] == "vera" for r in new), new
    assert op(daemon, tokens["ada"], "incident_show", {"id": int(tokens["incident"])})[1]["status"] == "open"


def test_a_forged_user_in_the_environment_is_not_who_the_daemon_sees(hostile: tuple[Daemon, dict[str, str]]) -> None:
    from appliance.core.identity import current_account

    daemon, _ = hostile
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_TOKEN"}
    done = subprocess.run([str(VIGIL), "whoami", "--json", "--home", str(daemon.home)], capture_output=True,
                          text=True, env={**env, "USER": "ada", "LOGNAME": "ada", "VIGIL_USER": "ada"}, timeout=60)
    assert done.returncode == 0, done.stderr
    who = json.loads(done.stdout)
    assert who["name"] == current_account() and who["role"] == "viewer", who


def test_many_viewers_asking_for_a_rollback_plan_cost_one_preflight(hostile: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = hostile
    answers: list[tuple[int, Any]] = []

    def ask() -> None:
        answers.append(op(daemon, tokens["vera"], "rollback_plan", {"name": "hostile"}))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [status for status, _ in answers] == [200] * 6, answers
    ran = {found["preflight_at"] for _, found in answers}
    assert len(ran) == 1 and None not in ran, ran  # one pre-flight, shared
    assert all(found["preflight"][0] == {"check": "loads", "ok": True, "detail": found["preflight"][0]["detail"]}
               for _, found in answers)


# -- 3. replay evidence ------------------------------------------------------------------------------


def test_nobody_writes_replay_evidence_through_sql_or_a_crafted_promote(
        hostile: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = hostile
    for query in ("UPDATE replay_evidence SET agreement = 1", "INSERT INTO replay_evidence SELECT * FROM "
                  "replay_evidence", "DELETE FROM replay_evidence"):
        status, error = op(daemon, tokens["ada"], "sql", {"query": query})
        assert status == 400, (query, status, error)
    status, error = op(daemon, tokens["otto"], "promote", {"name": "hostile", "version": 1, "alias": "challenger",
                                                          "reason": "r", "replay": {"agreement": 1.0}})
    assert status == 400 and "replay" in json.dumps(error), error


# -- 4. the already-champion refusal and the known-good rule on every door ---------------------------------


def test_rolling_back_to_the_current_champion_is_refused_on_every_door(hostile: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = hostile
    status, error = op(daemon, tokens["otto"], "rollback", {"name": "hostile", "to": 2, "reason": "again"})
    assert status == 400 and "v2 is already champion of 'hostile'" in json.dumps(error), (status, error)
    done = subprocess.run([str(VIGIL), "rollback", "hostile", "--to", "2", "--reason", "again", "--home",
                           str(daemon.home)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "VIGIL_TOKEN": tokens["otto"]})
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "already champion" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_two_consoles_rolling_back_at_once_make_one_rollback(hostile: tuple[Daemon, dict[str, str]]) -> None:
    """Each console names the target its dialog showed (`to`); while a promotion request is pending."""
    daemon, tokens = hostile
    status, plan = op(daemon, tokens["otto"], "rollback_plan", {"name": "hostile"})
    assert status == 200 and (plan["from_version"], plan["to_version"]) == (2, 1), plan
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(2)

    def press(token: str) -> None:
        start.wait()
        answers.append(op(daemon, token, "rollback", {"name": "hostile", "to": 1, "reason": "both pressed R"}))

    threads = [threading.Thread(target=press, args=(tokens[name],)) for name in ("otto", "ada")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(status for status, _ in answers) == [200, 400], answers
    refused = next(found for status, found in answers if status == 400)
    assert "v1 is already champion of 'hostile'" in json.dumps(refused), refused
    rows = op(daemon, tokens["ada"], "audit_log", {"filter": "alias.rollback", "limit": 10})[1]["rows"]
    assert len(rows) == 1, rows
    # the request pending since before (v1 -> champion) can no longer be approved into a no-op
    status, error = op(daemon, tokens["bob"], "approve", {"id": int(tokens["pending"])})
    assert status == 400 and "already champion" in json.dumps(error), (status, error)


def test_console_rollback_after_it_happened_elsewhere_says_why(hostile: tuple[Daemon, dict[str, str]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """R from a console after another rolled back: no known-good version to flip back to; said plainly."""
    daemon, tokens = hostile
    monkeypatch.setenv("VIGIL_TOKEN", tokens["otto"])

    async def scenario() -> None:
        app = _app(daemon.home)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: cells(app, "models"))
            await pilot.press("R")
            found = await until(pilot, lambda: [n for n in notes(app) if "known-good" in n])
            assert "champion v1 of 'hostile' has no known-good version" in found[-1]
            assert _on(app, "OverviewScreen")

    run(scenario)


# -- 5. CLI colour and progress ------------------------------------------------------------------------


def test_forced_colour_never_reaches_json_or_csv(hostile: tuple[Daemon, dict[str, str]], tmp_path: Path) -> None:
    daemon, tokens = hostile
    env = {**os.environ, "FORCE_COLOR": "1", "VIGIL_TOKEN": tokens["ada"]}
    for args in (("alerts", "--all", "--json"), ("models", "--json"), ("requests", "--all", "--json")):
        target = tmp_path / "out.json"
        with target.open("w") as out:
            done = subprocess.run([str(VIGIL), *args, "--home", str(daemon.home)], stdout=out,
                                  stderr=subprocess.PIPE, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        text = target.read_text()
        assert "\x1b" not in text and json.loads(text) is not None, args
    done = subprocess.run([str(VIGIL), "sql", "SELECT 'critical' AS severity, 'ok' AS verdict", "--format", "csv",
                           "--home", str(daemon.home)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines() == ["severity,verdict", "critical,ok"], done
    table = subprocess.run([str(VIGIL), "sql", "SELECT 'critical' AS severity", "--home", str(daemon.home)],
                           capture_output=True, text=True, env=env, timeout=60)
    assert "\x1b[31;1mcritical" in table.stdout  # colour only in table text


def test_the_spinner_draws_on_a_terminal_stderr_only_and_an_error_stays_one_line(
        hostile: tuple[Daemon, dict[str, str]], tmp_path: Path) -> None:
    daemon, tokens = hostile
    env = {**os.environ, "VIGIL_TOKEN": tokens["ada"], "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    slow = "(SELECT count(*) FROM range(400000000) WHERE hash(range) % 7 = 8)"  # about 2 s: the spinner shows
    for expect_code, sql in ((0, f"SELECT {slow} AS n"),
                             (2, f"SELECT CASE WHEN {slow} = 0 THEN error('failed after a while') END AS n")):
        leader, follower = pty.openpty()
        out = tmp_path / "stdout.txt"
        with out.open("w") as stdout:
            done = subprocess.run([str(VIGIL), "sql", sql, "--home", str(daemon.home)], stdout=stdout,
                                  stderr=follower, env=env, timeout=120)
        os.close(follower)
        drawn = _drain(leader)
        assert done.returncode == expect_code and "vigil sql" in drawn, drawn  # the spinner was on stderr
        printed = out.read_text()
        assert "\x1b" not in printed and "vigil sql" not in printed, printed
        if expect_code == 0:
            assert printed.split() == ["n", "0"], printed
        else:
            assert printed == "" and "Traceback" not in drawn, drawn
            last = drawn.replace("\r", "\n").strip().splitlines()[-1]
            assert "vigil: error: " in last and "failed after a while" in last, drawn


def _drain(leader: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")

