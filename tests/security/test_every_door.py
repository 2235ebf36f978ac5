"""Every declared operation, through every door, as every kind of caller.

The tables below are built from the declarations (`operations.OPERATIONS`), so a command added later is
covered without touching this file. For each operation:

- the admin API answers each role (viewer, operator, approver, admin) as the declaration says: 403 below
  the declared role (audited under the caller's real name), the argument check above it (a probe field
  the model does not have: 400 naming it, so nothing runs);
- no token, an unknown token and a revoked token are 401; an `X-Vigil-User` header, an `actor` argument
  or `USER`/`LOGNAME` never change who the caller is;
- the CLI's own process (no daemon) applies the same rule to the same identities;
- hostile argument values (wrong types, huge numbers, NUL and lone surrogates, SQL text, paths outside
  the home or into it) are a 4xx naming the field or a domain refusal, never a 5xx, and a refusal
  changes nothing.
"""

from __future__ import annotations

import json
import shutil
import typing
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.access.roles import ROLES, allows
from appliance.admin_client import run_local
from appliance.core.identity import current_account
from appliance.errors import Forbidden, InvalidRequest, Unauthorized
from appliance.home import Home
from appliance.operation_args.types import is_file_path
from appliance.operations import NOT_IN_DAEMON, OPERATIONS, required_role
from daemon_support import Daemon, start_daemon

PEOPLE = {"vera": "viewer", "otto": "operator", "alice": "approver", "ada": "admin"}
PROBE = "door_probe"  # a field no operation's model has: its 400 proves the role check let the caller through
NAMES = sorted(OPERATIONS)
IN_DAEMON = [name for name in NAMES if name not in NOT_IN_DAEMON]


def _home_with_people(source: Path, target: Path) -> dict[str, str]:
    """Copy `source` to `target`; add ada (admin, while no user exists), the other PEOPLE, and rex (an
    operator whose token is then revoked). Tokens by name."""
    shutil.copytree(source, target)
    home = Home(target)
    tokens = {"ada": run_local(home, "user_add", {"name": "ada", "role": "admin"})["token"]}
    for name, role in [*PEOPLE.items(), ("rex", "operator")]:
        if name != "ada":
            tokens[name] = run_local(home, "user_add", {"name": name, "role": role}, tokens["ada"])["token"]
    run_local(home, "user_revoke", {"name": "rex"}, tokens["ada"])
    return tokens


@pytest.fixture(scope="module")
def door_home(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    target = tmp_path_factory.mktemp("doors") / "home"
    return target, _home_with_people(served_home, target)


@pytest.fixture(scope="module")
def door(door_home: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    running = start_daemon(door_home[0], tmp_path_factory.mktemp("door-log") / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def local_home(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A home with the same people and no daemon: the CLI opens its store itself."""
    target = tmp_path_factory.mktemp("local-doors") / "home"
    return target, _home_with_people(served_home, target)


def _post(daemon: Daemon, name: str, body: Any, bearer: str | None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    sent = {**({"Authorization": f"Bearer {bearer}"} if bearer is not None else {}), **(headers or {})}
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body, headers=sent)
    return status, json.loads(payload) if payload else {}


def _admin_token(daemon: Daemon) -> str:
    return (daemon.home / "admin.token").read_text(encoding="utf-8").strip()


def _sql(daemon: Daemon, ada: str, query: str, params: tuple[Any, ...] = ()) -> list[list[Any]]:
    for value in params:  # literal text only: names and operations come from this file's tables
        query = query.replace("?", "'" + str(value).replace("'", "''") + "'", 1)
    status, body = _post(daemon, "sql", {"query": query}, ada)
    assert status == 200, body
    return list(body["result"]["rows"])


def _denials(daemon: Daemon, ada: str, name: str) -> list[tuple[str, str]]:
    rows = _sql(daemon, ada, "SELECT actor, details->>'identity' FROM audit_log WHERE action = 'access.denied' "
                             "AND details->>'operation' = ? ORDER BY id", (name,))
    return [(r[0], r[1]) for r in rows]


def _expect(status: int, body: dict[str, Any], role: str, name: str, who: str) -> None:
    needed = required_role(name)
    if allows(role, needed):
        assert status == 400, (who, role, name, status, body)
        assert any(e.get("field") == PROBE for e in body["error"].get("errors", [])), (who, name, body)
    else:
        assert status == 403, (who, role, name, status, body)
        assert body["error"]["type"] == "Forbidden"
        assert f"{who} ({role}) may not run '{name}'; it needs the {needed} role" in body["error"]["message"]


def test_every_operation_declares_one_of_the_roles() -> None:
    assert NAMES, "no operation declared"
    assert {required_role(name) for name in NAMES} <= set(ROLES)


@pytest.mark.parametrize("name", IN_DAEMON)
def test_the_admin_api_answers_each_caller_as_the_declaration_says(
        name: str, door: Daemon, door_home: tuple[Path, dict[str, str]]) -> None:
    tokens = door_home[1]
    ada = tokens["ada"]
    before = _denials(door, ada, name)
    probe = {PROBE: 1}
    expected_denials: list[tuple[str, str]] = []
    for who, role in PEOPLE.items():
        status, body = _post(door, name, probe, tokens[who])
        _expect(status, body, role, name, who)
        if not allows(role, required_role(name)):
            expected_denials.append((who, "token"))
    # what a request says about its sender changes nothing: a header, an actor argument, a user variable
    for who, role in PEOPLE.items():
        if who == "ada":
            continue
        status, body = _post(door, name, {**probe, "actor": "ada"}, tokens[who],
                             {"X-Vigil-User": "ada", "X-Forwarded-User": "ada", "Remote-User": "ada"})
        _expect(status, body, role, name, who)
        if not allows(role, required_role(name)):
            expected_denials.append((who, "token"))
    # the home's admin token: the caller is the OS account owning the connection, whatever the header says
    admin_token = _admin_token(door)
    status, who_am_i = _post(door, "whoami", {}, admin_token, {"X-Vigil-User": "ada"})
    assert status == 200 and who_am_i["result"]["name"] != "ada", who_am_i
    me = who_am_i["result"]
    status, body = _post(door, name, {**probe, "actor": "ada"}, admin_token, {"X-Vigil-User": "ada"})
    _expect(status, body, me["role"], name, me["name"])
    if not allows(me["role"], required_role(name)):
        expected_denials.append((me["name"], me["identity"]))
    # no token, an unknown token, a revoked token: 401 before anything
    for bearer in (None, "", "vgu_" + "x" * 43, tokens["rex"], admin_token + "x"):
        status, body = _post(door, name, probe, bearer, {"X-Vigil-User": "ada"})
        assert status == 401, (name, bearer, status, body)
    for authorization in ("Bearer", "Bearer  ", "bearer\t", "Basic " + tokens["ada"], tokens["ada"],
                          "Token " + admin_token):
        status, body = _post(door, name, probe, None, {"Authorization": authorization})
        assert status == 401, (name, authorization, status, body)
    assert _denials(door, ada, name)[len(before):] == expected_denials


@pytest.mark.parametrize("name", NAMES)
def test_the_cli_without_a_daemon_answers_each_caller_as_the_declaration_says(
        name: str, local_home: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root, tokens = local_home
    home = Home(root)
    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.delenv("VIGIL_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-token-file"))
    needed = required_role(name)
    denials = "SELECT actor FROM audit_log WHERE action = 'access.denied' AND details->>'operation' = '%s'" % name
    before = run_local(home, "sql", {"query": denials}, tokens["ada"])["rows"]
    refused_as: list[list[str]] = []
    for who, role in PEOPLE.items():
        if allows(role, needed):
            with pytest.raises(InvalidRequest) as refused:
                run_local(home, name, {PROBE: 1, "actor": "ada"}, tokens[who])
            assert any(e.get("field") == PROBE for e in refused.value.errors)
        else:
            with pytest.raises(Forbidden, match=f"{who} \\({role}\\) may not run '{name}'"):
                run_local(home, name, {PROBE: 1, "actor": "ada"}, tokens[who])
            refused_as.append([who])
    # each refusal is audited under the caller's name, whether the operation writes the store or not
    assert run_local(home, "sql", {"query": denials}, tokens["ada"])["rows"][len(before):] == refused_as
    for bearer in ("vgu_" + "x" * 43, tokens["rex"]):
        with pytest.raises(Unauthorized):
            run_local(home, name, {PROBE: 1}, bearer)
    # no token, USER and LOGNAME naming the admin: the caller is the OS account of this process's uid
    monkeypatch.setenv("USER", "ada")
    monkeypatch.setenv("LOGNAME", "ada")
    me = run_local(home, "whoami", {})
    assert me["name"] == current_account() != "ada" and me["identity"] == "os-user", me
    if allows(me["role"], needed):
        with pytest.raises(InvalidRequest):
            run_local(home, name, {PROBE: 1})
    else:
        with pytest.raises(Forbidden, match=f"{me['name']} \\({me['role']}\\) may not run '{name}'"):
            run_local(home, name, {PROBE: 1})


# Hostile argument values ---------------------------------------------------------------------------------

WRONG_TYPES: list[Any] = [{"$ne": None}, [[1], {"a": 2}], 10**30, -(10**30), 1e308, True]
HOSTILE_TEXT = ["'; DROP TABLE users; --", "delay' OR '1'='1", "\x00admin", "\ud800", "\u202e\u0645\U0001f600" * 200,
                "x" * 300_000]
# what a caller's refused call could have changed (the scheduler's own jobs and audit rows are left out)
STATE_QUERY = ("SELECT (SELECT count(*) FROM audit_log WHERE action NOT IN ('access.denied') AND action NOT LIKE "
               "'%refused%' AND actor NOT LIKE 'vigil%'), (SELECT count(*) FROM users), (SELECT count(*) FROM aliases), (SELECT count(*) FROM "
               "deployments), (SELECT count(*) FROM promotion_requests), (SELECT count(*) FROM api_keys), "
               "(SELECT count(*) FROM audit_holds), (SELECT count(*) FROM trusted_keys), "
               "(SELECT count(*) FROM alert_mutes)")


def _baseline(annotation: Any) -> Any:
    """A plain value of the field's type (for the fields not under attack): names a model that does not
    exist, so nothing the baseline reaches runs for real."""
    origin, inner = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _baseline(inner[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return _baseline(next(a for a in inner if a is not type(None)))
    if origin is typing.Literal:
        return inner[0]
    if origin in (list, tuple):
        return [_baseline(inner[0])] if inner else []
    return {str: "no_such_model", int: 1, float: 10.0, bool: False}.get(annotation, "no_such_model")


def _text_field(annotation: Any) -> bool:
    origin, inner = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _text_field(inner[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_text_field(a) for a in inner if a is not type(None))
    return annotation is str


def _hostile_calls() -> list[tuple[str, str, str]]:
    """(operation, field, kind) for every field of every operation the daemon runs."""
    calls = []
    for name in IN_DAEMON:
        for field, info in OPERATIONS[name].args.model_fields.items():
            calls.append((name, field, "wrong type"))
            calls.append((name, field, "path" if is_file_path(info) else "text" if _text_field(info.annotation)
                          else "number"))
    return calls


@pytest.fixture(scope="module")
def hostile_door(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, dict[str, str]]]:
    target = tmp_path_factory.mktemp("hostile") / "home"
    tokens = _home_with_people(served_home, target)
    running = start_daemon(target, tmp_path_factory.mktemp("hostile-log") / "daemon.log")
    yield running, tokens
    if running.process.poll() is None:
        running.stop()


@pytest.mark.parametrize(("name", "field", "kind"), _hostile_calls())
def test_hostile_argument_values_are_4xx_naming_the_field_and_change_nothing(
        name: str, field: str, kind: str, hostile_door: tuple[Daemon, dict[str, str]]) -> None:
    daemon, tokens = hostile_door
    ada = tokens["ada"]
    model = OPERATIONS[name].args
    base = {f: _baseline(info.annotation) for f, info in model.model_fields.items() if info.is_required()}
    home = daemon.home.resolve()
    values: list[Any] = {
        "wrong type": WRONG_TYPES,
        "path": ["/etc/passwd", str(home / "admin.token"), str(home / "vigil.duckdb"), "../../../../etc/vigil-door",
                 str(home / "exports" / ".." / "vigil.toml"), "a/" + "b" * 300, "\x00/tmp/x", "/tmp/\ud800"],
        "text": HOSTILE_TEXT,
        "number": [10**30, -(10**30), 2**63, float("nan") if False else 1e308],
    }[kind]
    for value in values:
        before = _sql(daemon, ada, STATE_QUERY)
        status, body = _post(daemon, name, {**base, field: value}, ada)
        assert status < 500, (name, field, repr(value)[:60], status, body)
        if status >= 400:
            assert "Traceback" not in json.dumps(body)
            if body["error"]["type"] == "InvalidRequest" and kind in ("wrong type", "number"):
                named = {e["field"].split(".")[0].split("[")[0] for e in body["error"]["errors"]}
                assert field in named, (name, field, body)
            assert _sql(daemon, ada, STATE_QUERY) == before, (name, field, repr(value)[:60], body)
    assert daemon.get("/healthz")[0] == 200


# Files of the home, read for a caller ----------------------------------------------------------------------

def test_a_viewer_reads_no_file_of_the_home_through_contract_check(
        door: Daemon, door_home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """`contract check` reads the file it is given; through the daemon, never one of the home (its
    training snapshots, its token), not even by a symlink from outside it."""
    tokens = door_home[1]
    home = door.home.resolve()
    snapshot = next(home.joinpath("datasets").rglob("*.parquet"))
    token_link = tmp_path / "token.csv"
    token_link.symlink_to(home / "admin.token")
    snapshot_link = tmp_path / "rows.parquet"
    snapshot_link.symlink_to(snapshot)
    for named in (snapshot, token_link, snapshot_link):
        status, body = _post(door, "contract_check", {"name": "delay", "version": 1, "file": str(named)},
                             tokens["vera"])
        assert status == 400 and body["error"]["type"] == "InputRefused", (named, status, body)
        assert "row_count" not in json.dumps(body)


# One person, every release door --------------------------------------------------------------------------

def test_one_approver_alone_moves_no_champion_by_any_door(door: Daemon, door_home: tuple[Path, dict[str, str]]) -> None:
    """alice (approver, so also an operator) tries every door that moves champion, alone: each ends as a
    pending request only someone else may approve, or a refusal; champion stays v1."""
    alice = door_home[1]["alice"]
    ada = door_home[1]["ada"]
    champion = "SELECT version FROM aliases WHERE model_name = 'delay' AND alias = 'champion'"
    assert _sql(door, ada, champion) == [[1]]
    status, asked = _post(door, "promote", {"name": "delay", "version": 2, "alias": "champion", "reason": "mine"},
                          alice)
    assert status == 200 and asked["result"]["status"] in ("pending", "rejected"), asked
    request_id = asked["result"]["request_id"]
    for headers in ({}, {"X-Vigil-User": "bob"}):
        status, refused = _post(door, "approve", {"id": request_id, "actor": "bob"}, alice, headers)
        assert status in (400, 403), refused
    status, large = _post(door, "promote", {"name": "delay", "version": 2, "alias": "canary", "percent": 100,
                                            "reason": "all of it"}, alice)
    assert status == 200 and large["result"]["status"] in ("pending", "rejected"), large
    status, back = _post(door, "rollback", {"name": "delay", "to": 2, "reason": "never champion"}, alice)
    assert status == 400, back
    admin_token = _admin_token(door)
    status, by_admin_token = _post(door, "approve", {"id": request_id}, admin_token, {"X-Vigil-User": "bob"})
    assert status in (400, 403), by_admin_token
    assert _sql(door, ada, champion) == [[1]]


# vigil restore: an admin's act, whatever the backup holds --------------------------------------------------

@pytest.mark.parametrize("who", ["vera", "otto", "alice", "os-account"])
def test_a_lower_role_restores_no_backup_over_the_home(
        who: str, local_home: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.cli.main import main

    source, tokens = local_home
    root = tmp_path / "home"
    shutil.copytree(source, root)
    backup = tmp_path / "backup"
    run_local(Home(root), "backup", {"directory": str(backup)}, tokens["ada"])
    run_local(Home(root), "user_add", {"name": "mallory", "role": "admin"}, tokens["ada"])  # the backup lacks her
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-token-file"))
    monkeypatch.setenv("USER", "ada")
    if who == "os-account":
        monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    else:
        monkeypatch.setenv("VIGIL_TOKEN", tokens[who])
    capsys.readouterr()
    code = main(["restore", str(backup), "--replace", "--home", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "may not run 'restore'; it needs the admin role" in err, err
    assert not list(root.glob("vigil.duckdb.before-restore-*"))
    assert run_local(Home(root), "sql", {"query": "SELECT count(*) FROM users WHERE name = 'mallory'"},
                     tokens["ada"])["rows"] == [[1]]  # the store restore would have replaced is the one in place
    refusals = run_local(Home(root), "sql", {"query": "SELECT actor FROM audit_log WHERE action = 'access.denied' "
                                                      "AND details->>'operation' = 'restore'"}, tokens["ada"])["rows"]
    assert refusals == [[current_account() if who == "os-account" else who]]
