"""Promotion requests: gates with stored evidence, rejection naming the failing gates, four-eyes
approval, expiry, rejection by an approver."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from appliance.core.identity import current_account
from tests.support import query


def _versions(home: Path, vigil: Callable[..., Any], write_spec: Callable[..., Path]) -> None:
    assert vigil("train", "--spec", write_spec(), "--home", home).code == 0
    assert vigil("train", "--spec", write_spec("b.toml", seed=9), "--home", home).code == 0


def _token(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("vgu_"))


def test_a_failing_gate_rejects_with_its_evidence(home: Path, vigil: Callable[..., Any],
                                                  write_spec: Callable[..., Path]) -> None:
    _versions(home, vigil, write_spec)
    (home / "vigil.toml").write_text("[promotion.models.delay]\nmin_roc_auc = 0.99\n")
    result = vigil("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home)
    assert result.code == 1 and "rejected: failing gates: min_metric" in result.out
    assert "failed min_metric: holdout ROC AUC" in result.out
    gates = query(home, "SELECT gate, passed FROM promotion_evidence WHERE request_id = 1 ORDER BY rowid")
    assert [g for g, _ in gates] == ["min_metric", "calibration", "comparison", "segments", "latency", "contract",
                                     "model_card", "no_open_incident", "fairness", "cost", "estimated_performance"]
    assert dict(gates)["min_metric"] is False and sum(not p for _, p in gates) == 1
    assert query(home, "SELECT count(*) FROM aliases") == [(0,)]  # nothing moved


def test_four_eyes_approval_expiry_and_rejection(home: Path, vigil: Callable[..., Any],
                                                 write_spec: Callable[..., Path]) -> None:
    _versions(home, vigil, write_spec)
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", home).code == 0
    ann = {"VIGIL_TOKEN": _token(vigil("users", "add", "ann", "--role", "approver", "--home", home).out)}
    bob = {"VIGIL_TOKEN": _token(vigil("users", "add", "bob", "--role", "approver", "--home", home).out)}
    otto = {"VIGIL_TOKEN": _token(vigil("users", "add", "otto", "--role", "operator", "--home", home).out)}
    pending = vigil("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home, env=ann)
    assert pending.code == 0 and "request 1: delay v1 -> champion passed its gates and waits" in pending.out
    assert query(home, "SELECT count(*) FROM aliases") == [(0,)]
    own = vigil("approve", "1", "--home", home, env=ann)
    assert own.code == 2 and "ann requested promotion 1 and cannot approve it" in own.err
    assert vigil("approve", "1", "--home", home, env=otto).code == 2  # an operator is not an approver
    approved = vigil("approve", "1", "--home", home, env=bob)
    assert approved.code == 0 and "delay: champion v- -> v1" in approved.out
    assert query(home, "SELECT version, updated_by FROM aliases WHERE alias = 'champion'") == [(1, "bob")]
    actions = [a for (a,) in query(home, "SELECT action FROM audit_log WHERE action LIKE 'promotion.%' ORDER BY id")]
    assert actions == ["promotion.request", "promotion.self_approval_refused", "promotion.approved"]
    # a request nobody approves in time expires
    (home / "vigil.toml").write_text("[promotion]\nexpiry_hours = 0.0003\n")  # about a second
    assert vigil("promote", "delay", "2", "--to", "champion", "--reason", "second", "--home", home,
                 env=ann).code == 0
    time.sleep(1.5)
    late = vigil("approve", "2", "--home", home, env=bob)
    assert late.code == 2 and "promotion request 2 is expired, not pending" in late.err
    # and an approver may reject one, with a reason
    (home / "vigil.toml").write_text("")
    assert vigil("promote", "delay", "2", "--to", "champion", "--reason", "third", "--home", home, env=ann).code == 0
    rejected = vigil("reject", "3", "--reason", "wait for the holiday data", "--home", home, env=bob)
    assert rejected.code == 0 and "rejected: wait for the holiday data" in rejected.out
    statuses = query(home, "SELECT request_id, status, decided_by FROM promotion_requests ORDER BY request_id")
    assert statuses == [(1, "approved", "bob"), (2, "expired", "vigil"), (3, "rejected", "bob")]
    assert query(home, "SELECT version FROM aliases WHERE alias = 'champion'") == [(1,)]
    history = query(home, "SELECT kind, status, actor, decided_by, gates LIKE '%latency ok%' FROM version_releases "
                          "WHERE model_name = 'delay' AND version = 1 ORDER BY happened_at")
    assert history == [("request", "approved", "ann", "bob", True), ("deployment", "moved", "bob", None, None)]
