"""Admin arguments: a wrong type, a missing or unknown key, or a value out of range is a 400 naming each
bad field, before anything runs; the store is left as it was and the daemon keeps serving. The actor is
always the authenticated caller, whatever the arguments say.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from daemon_support import Daemon, start_daemon, token_of
from support import query

BIGINT_MAX = 2**63 - 1

# (operation, arguments, the fields the answer must name) — a sample across every module's operations
BAD_CALLS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("show", {"name": 5, "version": "x"}, {"name", "version"}),
    ("show", {"version": [1]}, {"name", "version"}),
    ("show", {"name": "delay", "version": 1, "verbose": True}, {"verbose"}),
    ("versions", {}, {"name"}),
    ("promote", {"name": "delay", "version": 2, "alias": "canary", "percent": 0, "reason": "x"}, {"percent"}),
    ("promote", {"name": "delay", "version": 2, "alias": "canary", "percent": 100.5, "reason": "x"}, {"percent"}),
    ("promote", {"name": "delay", "version": 2, "alias": "shadow", "reason": "x", "force": True}, {"force"}),
    ("promote", {"name": "delay", "version": "2", "alias": "shadow", "reason": "x"}, {"version"}),
    ("approve", {"id": BIGINT_MAX + 1}, {"id"}),
    ("approve", {"id": "1"}, {"id"}),
    ("reject", {"id": -1, "reason": 7}, {"id", "reason"}),
    ("rollback", {"name": "delay", "to": 0, "reason": "x"}, {"to"}),
    ("rollback", {"name": "delay", "to": 1.5, "reason": "x"}, {"to"}),
    ("hold_add", {"name": "delay", "version": 2**40, "reason": "case 7"}, {"version"}),
    ("hold_release", {"reason": "done"}, {"id"}),
    ("contract_apply", {"name": "delay", "version": 1}, {"toml", "reason"}),
    ("datasheet_edit", {"ref": "delay", "version": 1, "collection": 3}, {"collection"}),
    ("bundle_export", {"name": "delay", "version": 1, "file": None}, {"file"}),
    ("keys_trust", {"name": "other-box", "public_key": 5}, {"public_key"}),
    ("drift", {"name": "delay", "window": "24x"}, {"window"}),
    ("outcomes", {"name": "delay", "window": "7d", "bucket": "99999999d"}, {"bucket"}),
    ("monitor_run", {"names": "delay"}, {"names"}),
    ("alert_mute", {"rule": "drift-warning", "duration": "100000d", "reason": "x"}, {"duration"}),
    ("incident_note", {"id": 1, "text": 5}, {"text"}),
    ("incident_resolve", {"id": True, "resolution": "x"}, {"id"}),
    ("jobs", {"limit": 1_000_000}, {"limit"}),
    ("jobs", {"limit": "5"}, {"limit"}),
    ("score", {"name": "delay", "output": 3}, {"output"}),
    ("report", {"name": "delay", "out": {"path": "x"}}, {"out"}),
    ("reports", {"limit": 0}, {"limit"}),
    ("sql", {}, {"query"}),
    ("sql", {"query": ["SELECT 1"]}, {"query"}),
    ("user_add", {"name": "eve", "role": "root"}, {"role"}),
    ("user_add", {"name": ["eve"], "role": "admin"}, {"name"}),
    ("user_revoke", {"name": ""}, {"name"}),
    ("api_key_add", {"name": "billing", "rate": -1}, {"rate"}),
    ("retention_run", {"inputs_days": -1, "dry_run": "no"}, {"inputs_days", "dry_run"}),
    ("explain_request", {"request_id": 12}, {"request_id"}),
    ("backup", {"directory": 7}, {"directory"}),
    ("export", {"directory": "/tmp/x", "full": "yes"}, {"full"}),
    ("whoami", {"me": 1}, {"me"}),
    ("models", {"all": True}, {"all"}),
]

# what a bad call could have changed, were it run
STATE = ("SELECT (SELECT count(*) FROM audit_log WHERE action <> 'access.denied'), "
         "(SELECT count(*) FROM promotion_requests), (SELECT count(*) FROM deployments), "
         "(SELECT count(*) FROM users), (SELECT count(*) FROM audit_holds), (SELECT count(*) FROM api_keys), "
         "(SELECT count(*) FROM alert_mutes), (SELECT count(*) FROM trusted_keys), "
         "(SELECT string_agg(alias || ':' || CAST(version AS VARCHAR), ',' ORDER BY alias) FROM aliases)")



def _post(daemon: Daemon, name: str, body: Any, token: str) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                        headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(payload)


@pytest.fixture
def users(fresh_home: Path, cli: Callable[..., Any]) -> dict[str, str]:
    """Tokens of real users: ada (admin), ann (approver), vera (viewer)."""
    assert cli("users", "add", getpass.getuser(), "--role", "admin", "--home", fresh_home).code == 0
    return {name: token_of(cli("users", "add", name, "--role", role, "--home", fresh_home).out)
            for name, role in (("ada", "admin"), ("ann", "approver"), ("vera", "viewer"))}


@pytest.fixture
def before(fresh_home: Path, users: dict[str, str]) -> tuple[Any, ...]:
    """The store's state once the users exist, read before a daemon holds the store."""
    return _state(fresh_home)


@pytest.fixture
def guarded(fresh_home: Path, tmp_path: Path, before: tuple[Any, ...]) -> Iterator[Daemon]:
    running = start_daemon(fresh_home, tmp_path / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


def _state(home: Path) -> tuple[Any, ...]:
    """What a bad call could have changed, read from the store while no daemon holds it."""
    return query(home, STATE)[0]


def test_bad_arguments_are_400s_naming_each_field_and_change_nothing(guarded: Daemon, users: dict[str, str],
                                                                     before: tuple[Any, ...],
                                                                     sample_records: list[dict[str, Any]]) -> None:
    ada = users["ada"]
    _refused_one_by_one(guarded, ada)
    assert guarded.process.poll() is None and guarded.get("/healthz")[0] == 200
    assert guarded.post("/v1/models/delay/predict", {"records": sample_records[:2]})[0] == 200
    status, body = _post(guarded, "show", {"name": "delay", "version": 1}, ada)
    assert status == 200 and body["result"]["version"] == 1
    assert "internal error" not in guarded.output and "Traceback" not in guarded.output
    assert guarded.stop() == 0
    assert _state(guarded.home) == before


def _refused_one_by_one(guarded: Daemon, token: str) -> None:
    for name, args, fields in BAD_CALLS:
        status, body = _post(guarded, name, args, token)
        assert status == 400, (name, args, body)
        error = body["error"]
        assert error["type"] == "InvalidRequest", (name, args, error)
        assert {e["field"] for e in error["errors"]} == fields, (name, args, error)
        assert all(f"'{field}'" in error["message"] for field in fields), error["message"]
        assert all(e["problem"] for e in error["errors"])


def test_a_missing_key_is_named_not_a_key_error(guarded: Daemon, users: dict[str, str]) -> None:
    status, body = _post(guarded, "promote", {"version": 2, "reason": "x"}, users["ada"])
    assert status == 400
    assert body["error"]["errors"] == [{"field": "name", "problem": "Field required"},
                                       {"field": "alias", "problem": "Field required"}]
    assert body["error"]["message"] == "bad arguments for 'promote': 'name': Field required; 'alias': Field required"


def test_the_role_is_checked_before_the_arguments(guarded: Daemon, users: dict[str, str],
                                                  before: tuple[Any, ...]) -> None:
    """A viewer's bad call to an admin operation is refused (403, audited), not described field by field."""
    status, body = _post(guarded, "user_add", {"name": 5, "role": "root"}, users["vera"])
    assert status == 403 and body["error"]["type"] == "Forbidden"
    guarded.stop()
    assert _state(guarded.home) == before
    assert query(guarded.home, "SELECT actor, details->>'operation' FROM audit_log "
                               "WHERE action = 'access.denied'") == [("vera", "user_add")]


def test_a_client_sent_actor_never_names_the_caller(guarded: Daemon, users: dict[str, str]) -> None:
    status, body = _post(guarded, "hold_add", {"name": "delay", "reason": "case 7", "actor": "mallory",
                                               "caller_role": "admin", "caller_identity": "token"}, users["ann"])
    assert status == 200, body
    status, body = _post(guarded, "whoami", {"actor": "mallory", "caller_role": "admin"}, users["vera"])
    assert status == 200 and body["result"] == {"name": "vera", "role": "viewer", "identity": "token"}
    guarded.stop()
    assert query(guarded.home, "SELECT actor FROM audit_log WHERE action = 'hold.place'") == [("ann",)]


def test_the_cli_says_which_argument_in_one_line(guarded: Daemon, cli: Callable[..., Any]) -> None:
    """Through the daemon: the CLI's own parsing lets these through; the operation's model does not."""
    for argv, field in ((["jobs", "--limit", "0"], "limit"), (["drift", "delay", "--window", "5y"], "window"),
                        (["promote", "delay", "2", "--to", "canary", "--percent", "150", "--reason", "x"], "percent"),
                        (["reports", "--limit", "100000"], "limit")):
        result = cli(*argv, "--home", guarded.home)
        assert result.code == 2, (argv, result)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert f"bad arguments for '{argv[0]}': '{field}'" in result.err, result.err


def test_without_a_daemon_the_same_check_applies(fresh_home: Path, cli: Callable[..., Any]) -> None:
    result = cli("jobs", "--limit", "0", "--home", fresh_home)
    assert result.code == 2 and result.err.strip() == (
        "vigil: error: bad arguments for 'jobs': 'limit': Input should be greater than or equal to 1")
    assert cli("holds", "add", "delay", "--version", "0", "--reason", "x", "--home", fresh_home).code == 2
    assert query(fresh_home, "SELECT count(*) FROM audit_holds") == [(0,)]


def test_every_argument_dict_the_cli_builds_validates(fresh_home: Path, tmp_path: Path,
                                                      cli: Callable[..., Any]) -> None:
    """The CLI commands feed their operations dicts the models accept (errors here are the domain's, not
    'bad arguments')."""
    out = tmp_path / "out"
    out.mkdir()
    commands = [
        ["models"], ["versions", "delay"], ["show", "delay", "1"], ["show", "delay", "1", "--card"],
        ["requests"], ["requests", "--all"], ["alerts"], ["alerts", "--all", "--model", "delay"], ["alerts", "rules"],
        ["alerts", "mute", "drift-warning", "--for", "2h", "--reason", "noisy"], ["incidents", "--all"],
        ["incident", "show", "1"], ["incident", "note", "1", "looking"], ["jobs"], ["jobs", "--job", "monitor"],
        ["dashboard", "delay"], ["quality", "delay"], ["system", "delay"], ["outcomes", "delay", "--bucket", "1h"],
        ["drift", "delay", "--window", "1h"], ["monitor", "run", "delay", "--window", "1h"], ["audit", "verify"],
        ["audit", "export", str(out / "audit")], ["users", "list"], ["whoami"], ["retention", "status"],
        ["retention", "status", "delay"], ["retention", "run", "--dry-run", "--inputs-days", "30"],
        ["holds", "add", "delay", "--version", "1", "--reason", "case 7"], ["holds", "list", "--all"],
        ["holds", "release", "1", "--reason", "closed"], ["keys", "list"], ["datasheet", "show", "delay", "1"],
        ["datasheet", "edit", "delay", "1", "--collection", "from the airline"], ["reports"],
        ["reports", "--model", "delay", "--limit", "5"], ["api-keys", "list"],
        ["api-keys", "add", "billing", "--rate", "5"], ["api-keys", "revoke", "billing"],
        ["explain-request", "no-such-request"], ["approve", "99"], ["reject", "99", "--reason", "no"],
        ["contract", "export", "delay", "1"], ["promote", "delay", "2", "--to", "shadow", "--reason", "watch"],
        ["promote", "delay", "2", "--to", "canary", "--percent", "10", "--reason", "try"],
        ["rollback", "delay", "--to", "1", "--reason", "back"], ["export", str(out / "lake"), "--box", "b1"],
    ]
    for argv in commands:
        result = cli(*argv, "--home", fresh_home)
        assert "bad arguments" not in result.err and "Traceback" not in result.err, (argv, result.err)
