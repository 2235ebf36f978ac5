"""`vigil demo --fast` runs the whole lifecycle on the shipped sample data; the end-to-end test checks the
store with SQL after every step of the same story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import query


def test_demo_fast(tmp_path: Path, vigil: Any) -> None:
    demo_home = tmp_path / "demo"
    result = vigil("demo", "--fast", "--home", demo_home)
    assert result.code == 0, result.err
    for step in range(1, 12):
        assert f"\n{step}. " in "\n" + result.out
    assert "predictions on" in result.out and "are identical" in result.out
    assert "refused" in result.out and "sam approves: champion is v1" in result.out
    assert "canary analysis: passed" in result.out and "the next request is answered by v2" in result.out
    assert "champion v2 -> v1" in result.out and "0 requests failed" in result.out and "exit code 0" in result.out
    assert query(demo_home, "SELECT version FROM current_aliases WHERE alias = 'champion'") == [(1,)]
    again = vigil("demo", "--fast", "--home", demo_home)
    assert again.code == 0 and query(demo_home, "SELECT count(*) FROM model_versions") == [(2,)]


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path, vigil: Any) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = vigil("demo", "--fast", "--home", tmp_path)
    assert result.code == 2 and "not a Vigil demo home" in result.err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def _one(demo: Any, sql: str) -> Any:
    rows = demo.sql(sql)
    assert len(rows) == 1, rows
    return rows[0] if len(rows[0]) > 1 else rows[0][0]


def _check(step: int, demo: Any) -> None:
    """The state after each step of the story, read with SQL (through the daemon's admin API once it runs)."""
    aliases = lambda: dict(demo.sql("SELECT alias, version FROM aliases ORDER BY alias"))  # noqa: E731
    if step == 1:
        from appliance.core.identity import current_account

        users = dict(demo.sql("SELECT name, role FROM users"))
        assert users == {current_account(): "admin", "dana": "approver", "sam": "approver"}
    elif step == 2:
        assert _one(demo, "SELECT version, created_by FROM model_versions") == [1, "dana"]
        assert _one(demo, "SELECT max(time_max) < TIMESTAMP '2013-07-01' FROM dataset_snapshots") is True
    elif step == 3:
        assert aliases() == {"champion": 1}
        assert _one(demo, "SELECT status, requested_by, decided_by FROM promotion_requests") == \
            ["approved", "dana", "sam"]
    elif step == 4:
        assert aliases() == {"champion": 1}  # checking and reproducing change nothing
    elif step == 5:
        assert demo.url and _one(demo, "SELECT count(*) FROM prediction_log WHERE route = 'champion'") == 120
        assert _one(demo, "SELECT count(*) FROM feedback") == 120
    elif step == 6:
        assert _one(demo, "SELECT count(*) > 0 FROM alerts WHERE rule = 'drift-critical' AND status = 'open'")
        assert _one(demo, "SELECT status, acknowledged_by FROM incidents") == ["acknowledged", "dana"]
    elif step == 7:
        assert _one(demo, "SELECT version, retrain_trigger FROM model_versions WHERE version = 2") == [2, "drift"]
        assert aliases() == {"champion": 1, "challenger": 2}
        assert _one(demo, "SELECT max(d.time_max) >= TIMESTAMP '2013-11-01' FROM model_versions v "
                          "JOIN dataset_snapshots d USING (snapshot_id) WHERE v.version = 2") is True
    elif step == 8:
        assert aliases()["shadow"] == 2
        assert _one(demo, "SELECT count(*) FROM prediction_log WHERE route = 'shadow' AND version = 2") >= 60
    elif step == 9:
        assert aliases()["canary"] == 2 and _one(demo, "SELECT traffic_percent FROM aliases WHERE alias = 'canary'") == 25
        detail = json.loads(_one(demo, "SELECT detail::VARCHAR FROM job_runs WHERE job = 'canary'"))
        assert detail["status"] == "passed" and detail["action"] == "reported"
    elif step == 10:
        assert aliases() == {"champion": 2, "challenger": 2}  # canary and shadow graduated
        assert _one(demo, "SELECT status, decided_by FROM promotion_requests WHERE alias = 'champion' "
                          "AND version = 2") == ["approved", "sam"]
        assert _one(demo, "SELECT status FROM incidents") == "resolved"
    elif step == 11:
        assert aliases()["champion"] == 1
        assert _one(demo, "SELECT actor, action FROM audit_log WHERE action = 'alias.rollback'") == \
            ["dana", "alias.rollback"]
        assert demo.call("audit_verify", {})["ok"]
    elif step == 12:
        report = _one(demo, "SELECT path, trigger FROM reports")
        assert report[1] == "manual" and Path(report[0]).parent == demo.home.root / "reports"
        text = Path(report[0]).read_text()
        assert 'data-chart="traffic"' in text and 'data-chart="drift:temp"' in text and "dana" in text
    checked.append(step)


checked: list[int] = []


def test_lifecycle_end_to_end(tmp_path: Path) -> None:
    from appliance.demo.story import run_demo

    lines: list[str] = []
    checked.clear()
    run_demo(tmp_path / "e2e", fast=True, say=lines.append, on_step=_check)
    assert checked == list(range(1, 13)), "\n".join(lines)
    assert not (tmp_path / "e2e" / "daemon.json").exists()  # stopped cleanly
    actions = [a for (a,) in query(tmp_path / "e2e", "SELECT DISTINCT action FROM audit_log")]
    for expected in ("version.trained", "promotion.self_approval_refused", "promotion.approved", "alias.move",
                     "alias.remove", "incident.open", "incident.acknowledge", "incident.resolve", "alias.rollback"):
        assert expected in actions


def test_in_a_terminal_the_demo_leaves_the_daemon_running_until_ctrl_c(tmp_path: Path) -> None:
    """In a terminal the daemon keeps running for `vigil tui`; Ctrl-C stops both cleanly."""
    import os
    import pty
    import select
    import signal
    import subprocess
    import time
    import urllib.request

    from support import VIGIL

    leader, follower = pty.openpty()
    process = subprocess.Popen([str(VIGIL), "demo", "--fast", "--home", str(tmp_path / "demo")], stdin=follower,
                               stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    seen = b""

    def read_until(needle: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while needle not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    return

    try:
        read_until(b"Press Ctrl-C here to stop it.", 300)
        assert b"vigil tui --home" in seen, seen.decode(errors="replace")[-2000:]
        port = json.loads((tmp_path / "demo" / "daemon.json").read_text())["port"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert ready.status == 200  # still serving, for the console
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        read_until(b"daemon stopped with exit code", 60)
        assert process.wait(60) == 0
        assert b"daemon stopped with exit code 0" in seen
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
