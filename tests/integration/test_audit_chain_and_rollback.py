"""The audit log is a hash chain that names the first tampered row; rollback refuses when there is no way back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support import query


@pytest.fixture
def audited(home: Path, cli: Callable[..., Any], write_spec: Callable[..., Path]) -> Path:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("train", "--spec", write_spec("b.toml", seed=9), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    assert cli("promote", "delay", "2", "--to", "champion", "--reason", "second", "--home", home).code == 0
    return home


def _tamper(home: Path, sql: str) -> None:
    from appliance.home.context import open_context
    from appliance.home import Home

    with open_context(Home(home)) as ctx:
        ctx.store.execute(sql)


def test_an_intact_chain_verifies(audited: Path, cli: Callable[..., Any]) -> None:
    result = cli("audit", "verify", "--home", audited)
    assert result.code == 0 and "audit log intact: 8 rows, head " in result.out
    rows = query(audited, "SELECT id, prev_hash, row_hash FROM audit_log ORDER BY id")
    assert rows[0][1] == "" and all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))


@pytest.mark.parametrize("sql,problem", [
    ("UPDATE audit_log SET actor = 'mallory' WHERE id = 2", "row 2 (version.trained) was changed"),
    ("UPDATE audit_log SET details = '{\"reason\": \"nothing to see\"}' WHERE id = 4", "row 4 (alias.move) was changed"),
    ("UPDATE audit_log SET before = '{\"version\": 2}' WHERE id = 4", "row 4 (alias.move) was changed"),
    ("UPDATE audit_log SET reason = 'routine' WHERE id = 6", "row 6 (promotion.request) was changed"),
    ("DELETE FROM audit_log WHERE id = 2", "row 3 (promotion.request) does not follow the row before it"),
    ("INSERT INTO audit_log (id, recorded_at, actor, action, model_name, version, details, prev_hash, row_hash) "
     "VALUES (99, now()::TIMESTAMP, 'mallory', 'alias.move', 'delay', 1, '{}', 'x', 'y')",
     "row 99 (alias.move) does not follow the row before it"),
])
def test_tampering_is_named(audited: Path, cli: Callable[..., Any], sql: str, problem: str) -> None:
    _tamper(audited, sql)
    result = cli("audit", "verify", "--home", audited)
    assert result.code == 1 and problem in result.out


def test_rollback_restores_the_previous_champion_and_refuses_without_one(audited: Path,
                                                                          cli: Callable[..., Any]) -> None:
    result = cli("rollback", "delay", "--reason", "v2 misbehaves", "--home", audited)
    assert result.code == 0 and "rolled back v2 -> v1" in result.out
    assert query(audited, "SELECT version FROM current_aliases WHERE alias = 'champion'") == [(1,)]
    assert query(audited, "SELECT action FROM audit_log ORDER BY id DESC LIMIT 1") == [("alias.rollback",)]
    assert cli("audit", "verify", "--home", audited).code == 0
    # the only earlier champion, v2, was just rolled away from: a second rollback does not flip back to it
    refused = cli("rollback", "delay", "--reason", "again", "--home", audited)
    assert refused.code == 2 and "no known-good version" in refused.err and "pass --to VERSION" in refused.err
    assert query(audited, "SELECT version FROM current_aliases WHERE alias = 'champion'") == [(1,)]
    assert cli("rollback", "delay", "--to", "2", "--reason", "explicit", "--home", audited).code == 0
    missing = cli("rollback", "nope", "--reason", "x", "--home", audited)
    assert missing.code == 2 and "nope" in missing.err


def test_audit_export_writes_parquet_for_other_engines(audited: Path, cli: Callable[..., Any],
                                                       tmp_path: Path) -> None:
    import polars as pl

    out = tmp_path / "export"
    out.mkdir()
    result = cli("audit", "export", str(out), "--home", audited)
    assert result.code == 0 and "audit_log.parquet (8 rows)" in result.out
    audit = pl.read_parquet(out / "audit_log.parquet")
    assert audit["action"].to_list() == ["version.trained", "version.trained"] + [
        "promotion.request", "alias.move", "promotion.applied"] * 2
    assert pl.read_parquet(out / "model_versions.parquet").height == 2
    assert pl.read_parquet(out / "deployments.parquet")["to_version"].to_list() == [1, 2]
    again = cli("audit", "export", str(out), "--home", audited)  # an export never replaces files
    assert again.code == 2 and f"{out / 'audit_log.parquet'} already exists" in again.err
    assert pl.read_parquet(out / "audit_log.parquet").height == 8
    assert cli("audit", "export", str(tmp_path / "new" / "dir"), "--home", audited).code == 0  # created


def test_auditor_views_answer_lineage_provenance_and_dora(audited: Path, cli: Callable[..., Any]) -> None:
    assert cli("rollback", "delay", "--reason", "v2 misbehaves", "--home", audited).code == 0
    lineage = query(audited, "SELECT version, snapshot_rows, estimator, artifact_sha256 = (SELECT artifact_sha256 "
                             "FROM model_versions WHERE version = 1) FROM version_lineage WHERE version = 1")
    assert lineage[0][0] == 1 and lineage[0][1] > 1000 and lineage[0][3] is True
    dora = query(audited, "SELECT champion_changes, change_failure_rate, median_lead_time_hours >= 0 "
                          "FROM dora_metrics WHERE model_name = 'delay'")
    assert dora == [(3, 0.5, True)]  # two promotions to champion, one rollback
    assert query(audited, "SELECT count(*) FROM request_provenance") == [(0,)]
