"""A team's own code through a real daemon: only an admin trusts it; a model shipping it is imported by
an operator, released through the door, and served from a worker process, never the daemon, which
dies with the daemon."""

from __future__ import annotations

import getpass
import json
import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

from daemon_support import Daemon, op, start_daemon, token_of, wait_until
from support import code_loaders, team_model


def _users(home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    assert vigil("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    return {role: token_of(vigil("users", "add", name, "--role", role, "--home", home).out)
            for name, role in (("ada", "admin"), ("otto", "operator"), ("bob", "approver"))}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_team_code_is_trusted_by_an_admin_and_runs_only_in_a_worker(
        fresh_home: Path, tmp_path: Path, flights_small: Path, vigil: Callable[..., Any],
        sample_records: list[dict[str, Any]]) -> None:
    team = team_model(tmp_path, flights_small)
    tokens = _users(fresh_home, vigil)
    daemon: Daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        as_otto, as_ada = {"VIGIL_TOKEN": tokens["operator"]}, {"VIGIL_TOKEN": tokens["admin"]}
        refused = vigil("import", "delay", team["model"], "--spec", team["spec"], "--home", fresh_home, env=as_otto)
        assert refused.code == 2 and "no admin trusts" in refused.err and "vigil code trust" in refused.err
        climbing = vigil("code", "trust", "--spec", team["spec"], "--reason", "me", "--home", fresh_home, env=as_otto)
        assert climbing.code == 2 and "needs the admin role" in climbing.err
        status, _ = op(daemon, tokens["approver"], "code_trust", {"spec": str(team["spec"]), "reason": "me"})
        assert status == 403
        status, bad = op(daemon, tokens["admin"], "code_revoke", {"sha256": "../x", "reason": "r"})
        assert status == 400 and [e["field"] for e in bad["errors"]] == ["sha256"]
        assert code_loaders(team["marker"]) == [(os.getpid(), os.getppid())]  # only the team's own fitting

        trusted = vigil("code", "trust", "--spec", team["spec"], "--reason", "reviewed by ada", "--home", fresh_home,
                        "--json", env=as_ada)
        assert trusted.code == 0, trusted.err
        imported = vigil("import", "delay", team["model"], "--spec", team["spec"], "--home", fresh_home, "--json",
                         env=as_otto)
        assert imported.code == 0, imported.err
        version = json.loads(imported.out)["version"]
        status, request = op(daemon, tokens["operator"], "promote", {"name": "delay", "version": version,
                                                                    "alias": "champion", "reason": "team model"})
        assert status == 200 and request["status"] == "pending"
        assert op(daemon, tokens["approver"], "approve", {"id": request["request_id"]})[0] == 200
        status, scored = daemon.post("/v1/models/delay/predict", {"records": sample_records[:8]})
        assert status == 200 and scored["version"] == version, scored
        home_token = (fresh_home / "admin.token").read_text().strip()
        status, _, body = daemon.request("GET", "/admin/v1/status", headers={"Authorization": f"Bearer {home_token}"})
        assert ["delay", version, "code process"] in json.loads(body)["loaded"], body
        loaders = code_loaders(team["marker"])[1:]
        assert loaders and all(pid != daemon.process.pid for pid, _ in loaders)
        serving = loaders[-1][0]
        assert loaders[-1][1] == daemon.process.pid and _alive(serving)  # the daemon's worker, serving now
        status, refused = op(daemon, tokens["admin"], "code_revoke", {"sha256": json.loads(trusted.out)["trusted"],
                                                                     "reason": "author left"})
        assert status == 400 and "roll back" in refused["message"]
    finally:
        daemon.stop(signal.SIGKILL)
    wait_until(lambda: not _alive(serving), 10)  # the worker died with the daemon
