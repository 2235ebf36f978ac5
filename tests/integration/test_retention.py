"""Retention of archived versions' artifacts: what it deletes, what holds it back, and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from appliance.core.identity import current_account
from tests.support import query


def _backdate(home: Path, days: int) -> None:
    """Make every registration and alias move `days` older, as if that much time had passed."""
    from appliance.home.context import open_context
    from appliance.home import Home

    with open_context(Home(home)) as ctx:
        ctx.store.execute(f"UPDATE model_versions SET created_at = created_at - INTERVAL {days} DAY")
        ctx.store.execute(f"UPDATE deployments SET changed_at = changed_at - INTERVAL {days} DAY")


@pytest.fixture
def three_versions(home: Path, cli: Callable[..., Any], write_spec: Callable[..., Path]) -> Path:
    """v1 was champion and was replaced by v2 (v1 archived); v3 is the newest, not yet promoted."""
    for seed in (7, 8, 9):
        assert cli("train", "--spec", write_spec(f"s{seed}.toml", seed=seed), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    assert cli("promote", "delay", "2", "--to", "champion", "--reason", "better", "--home", home).code == 0
    return home


def _artifact_file(home: Path, version: int) -> Path:
    [(path,)] = query(home, "SELECT a.path FROM model_versions v JOIN artifacts a ON a.sha256 = v.artifact_sha256 "
                            f"WHERE v.model_name = 'delay' AND v.version = {version}")
    return home / path


def _run(cli: Callable[..., Any], home: Path, *extra: str) -> dict[str, Any]:
    result = cli("retention", "run", "--artifact-days", "90", "--home", home, "--json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_only_archived_unheld_artifacts_past_the_limit_are_deleted(three_versions: Path,
                                                                   cli: Callable[..., Any]) -> None:
    home = three_versions
    assert _run(cli, home)["artifacts"]["deleted"] == []  # v1 archived minutes ago
    _backdate(home, 100)
    status = json.loads(cli("retention", "status", "delay", "--home", home, "--json").out)["versions"]
    assert [(v["version"], v["aliases"], v["archived_since"] is not None) for v in status] == [
        (1, None, True), (2, "champion", False), (3, None, False)]

    preview = _run(cli, home, "--dry-run")["artifacts"]["deleted"]
    assert [a["versions"] for a in preview] == [["delay v1"]] and _artifact_file(home, 1).exists()

    hold = cli("holds", "add", "delay", "--version", "1", "--reason", "case 7", "--home", home)
    assert hold.code == 0 and "hold 1 placed on delay v1" in hold.out
    assert _run(cli, home)["artifacts"]["deleted"] == []  # held
    assert cli("holds", "release", "1", "--reason", "case closed", "--home", home).code == 0

    deleted = _run(cli, home)["artifacts"]["deleted"]
    assert [a["versions"] for a in deleted] == [["delay v1"]]
    assert not _artifact_file(home, 1).exists() and _artifact_file(home, 2).exists() and _artifact_file(home, 3).exists()
    assert not any((home / f).exists() for f in deleted[0]["files"])
    assert query(home, "SELECT count(*) FROM scoring_plans WHERE artifact_sha256 = ?", [deleted[0]["sha256"]]) == [(0,)]
    [audit] = query(home, "SELECT actor, model_name, version, subject, before, after, reason FROM audit_log "
                          "WHERE action = 'retention.delete_artifact'")
    assert audit[:4] == (current_account(), "delay", 1, f"artifact:{deleted[0]['sha256']}")
    assert json.loads(audit[4])["files"] == deleted[0]["files"] and audit[5] is None
    assert "no alias, pending request or audit hold" in audit[6]
    assert cli("audit", "verify", "--home", home).code == 0
    assert _run(cli, home)["artifacts"]["deleted"] == []  # nothing twice

    # The version keeps its lineage but cannot serve again.
    assert cli("show", "delay", "1", "--home", home).code == 0
    refused = cli("promote", "delay", "1", "--to", "champion", "--reason", "back", "--home", home)
    assert refused.code == 2 and "was deleted by retention" in refused.err
    rollback = cli("rollback", "delay", "--to", "1", "--reason", "back", "--home", home)
    assert rollback.code == 2 and "was deleted by retention" in rollback.err
    assert query(home, "SELECT version FROM aliases WHERE alias = 'champion'") == [(2,)]


def test_a_pending_request_keeps_the_artifact(three_versions: Path, cli: Callable[..., Any],
                                              vigil: Callable[..., Any]) -> None:
    home = three_versions
    assert cli("users", "add", current_account(), "--role", "admin", "--home", home).code == 0
    token = next(line for line in cli("users", "add", "ann", "--role", "approver", "--home", home).out.splitlines()
                 if line.startswith("vgu_"))
    pending = vigil("promote", "delay", "1", "--to", "champion", "--reason", "back", "--home", home,
                    env={"VIGIL_TOKEN": token})
    assert pending.code == 0 and "waits" in pending.out
    _backdate(home, 100)
    assert _run(cli, home)["artifacts"]["deleted"] == []
    request_id = pending.out.split(":")[0].split()[-1]  # "request N: …"
    assert cli("reject", request_id, "--reason", "no", "--home", home).code == 0
    assert [a["versions"] for a in _run(cli, home)["artifacts"]["deleted"]] == [["delay v1"]]


def test_holds_need_roles_and_reasons(three_versions: Path, cli: Callable[..., Any],
                                      vigil: Callable[..., Any]) -> None:
    home = three_versions
    assert cli("users", "add", current_account(), "--role", "admin", "--home", home).code == 0
    token = next(line for line in cli("users", "add", "otto", "--role", "operator", "--home", home).out.splitlines()
                 if line.startswith("vgu_"))
    denied = vigil("holds", "add", "delay", "--reason", "x", "--home", home, env={"VIGIL_TOKEN": token})
    assert denied.code == 2 and "needs the approver role" in denied.err
    blank = cli("holds", "add", "delay", "--reason", " ", "--home", home)
    assert blank.code == 2 and "a hold needs a reason" in blank.err
    missing = cli("holds", "add", "delay", "--version", "9", "--reason", "x", "--home", home)
    assert missing.code == 2 and "has no version 9" in missing.err
    assert cli("holds", "add", "delay", "--reason", "audit 2026", "--home", home).code == 0
    listed = json.loads(cli("holds", "list", "--home", home, "--json").out)["holds"]
    assert [(h["hold_id"], h["model_name"], h["version"], h["reason"]) for h in listed] == [(1, "delay", None, "audit 2026")]
    assert cli("holds", "release", "1", "--reason", "done", "--home", home).code == 0
    again = cli("holds", "release", "1", "--reason", "done", "--home", home)
    assert again.code == 2 and "already released" in again.err
    assert json.loads(cli("holds", "list", "--home", home, "--json").out)["holds"] == []
    actions = query(home, "SELECT action, subject, after->>'active' FROM audit_log WHERE action LIKE 'hold.%' ORDER BY id")
    assert actions == [("hold.place", "hold:delay", "true"), ("hold.release", "hold:delay", "false")]
