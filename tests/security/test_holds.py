"""Holds are absolute: no retention path deletes a row of a held version or model.

The state is real: a daemon answers traffic with v1 as champion and v2 as shadow (both log the same
request ids), a request is rejected, labels arrive; the rows are then aged by 40 days with DuckDB
while the daemon is stopped, and `vigil retention run` runs through the restarted daemon.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from daemon_support import Daemon, admin, start_daemon
from support import query

OLD = ("old-a", "old-b")


def _age(home: Path, days: int) -> None:
    """Make everything logged so far `days` older (the daemon is stopped)."""
    from appliance.home.context import open_context
    from appliance.home import Home

    with open_context(Home(home)) as ctx:
        ctx.store.execute(f"UPDATE prediction_log SET logged_at = logged_at - INTERVAL {days} DAY")
        ctx.store.execute(f"UPDATE rejected_requests SET received_at = received_at - INTERVAL {days} DAY")


def _read(where: Path | Daemon, sql: str) -> list[tuple[Any, ...]]:
    """Read the store: through the daemon's SQL console while it runs, else directly."""
    if isinstance(where, Daemon):
        return [tuple(r) for r in admin(where, "sql", {"query": sql})["rows"]]
    return query(where, sql)


def _inputs(where: Path | Daemon) -> dict[str, int]:
    return dict(_read(where, "SELECT request_id, count(*) FROM prediction_inputs__delay GROUP BY ALL"))


def _evidence(home: Path) -> tuple[Any, ...]:
    """Counts of what retention must never delete: log rows per version, feedback, rollups, snapshots."""
    return (query(home, "SELECT version, count(*) FROM prediction_log GROUP BY ALL ORDER BY version"),
            query(home, "SELECT count(*) FROM feedback"),
            query(home, "SELECT count(*) FROM dataset_snapshots"),
            query(home, "SELECT count(*) FROM artifacts"))


def _retention(vigil: Callable[..., Any], home: Path) -> dict[str, Any]:
    result = vigil("retention", "run", "--inputs-days", "30", "--json", "--home", home)
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def _traffic(daemon: Daemon, sample_records: list[dict[str, Any]]) -> None:
    admin(daemon, "promote", {"name": "delay", "version": 2, "alias": "shadow", "reason": "compare v2"})
    for number, request_id in enumerate(OLD):
        status, answer = daemon.post("/v1/models/delay/predict",
                                     {"records": sample_records[number * 3:number * 3 + 3], "request_id": request_id})
        assert status == 200 and answer["version"] == 1
    bad = dict(sample_records[0], distance="far")
    assert daemon.post("/v1/models/delay/predict", {"records": [bad], "request_id": "bad-1"})[0] == 400
    labels = [{"request_id": "old-a", "row_index": i, "label": i % 2 == 0} for i in range(3)]
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[0] == 200


def test_held_rows_survive_retention_through_the_daemon(daemon: Daemon, sample_records: list[dict[str, Any]],
                                                        vigil: Callable[..., Any], tmp_path: Path) -> None:
    home = daemon.home
    _traffic(daemon, sample_records)
    daemon.stop()
    # champion and shadow logged the same request ids; the inputs are logged once per request
    assert query(home, "SELECT request_id, list(DISTINCT version ORDER BY version) FROM prediction_log "
                       "GROUP BY ALL ORDER BY 1") == [("old-a", [1, 2]), ("old-b", [1, 2])]
    assert _inputs(home) == {"old-a": 3, "old-b": 3}
    assert query(home, "SELECT count(*) FROM rejected_requests WHERE model_name = 'delay'") == [(1,)]
    _age(home, 40)
    evidence = _evidence(home)

    daemon = start_daemon(home, tmp_path / "again.log")
    try:
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:2], "request_id": "new-a"})[0] == 200
        hold = vigil("holds", "add", "delay", "--version", "1", "--reason", "case 7", "--json", "--home", home)
        assert hold.code == 0, hold.err
        version_hold = json.loads(hold.out)["hold_id"]

        # v1 is held: v2 (shadow, unheld) shares every request id, yet v1's inputs stay
        kept = _retention(vigil, home)
        assert kept["inputs_deleted"] == {"delay": 0} and kept["rejections_deleted"] == 0
        assert _inputs(daemon) == {"old-a": 3, "old-b": 3, "new-a": 2}

        # a model-wide hold keeps the inputs and the rejected body
        assert vigil("holds", "release", str(version_hold), "--reason", "done", "--home", home).code == 0
        model_hold = json.loads(vigil("holds", "add", "delay", "--reason", "audit", "--json", "--home", home).out)
        kept = _retention(vigil, home)
        assert kept["inputs_deleted"] == {"delay": 0} and kept["rejections_deleted"] == 0
        assert _read(daemon, "SELECT count(*) FROM rejected_requests WHERE model_name = 'delay'") == [(1,)]

        # released: what is old goes, what is new stays
        assert vigil("holds", "release", str(model_hold["hold_id"]), "--reason", "done", "--home", home).code == 0
        pruned = _retention(vigil, home)
        assert pruned["inputs_deleted"] == {"delay": 6} and pruned["rejections_deleted"] == 1
        assert _inputs(daemon) == {"new-a": 2}
        assert _read(daemon, "SELECT count(*) FROM rejected_requests") == [(0,)]
    finally:
        daemon.stop()
    before_new = _evidence(home)
    assert before_new[0][0][1] == evidence[0][0][1] + 2 and before_new[1:] == evidence[1:]


def test_a_held_shadow_keeps_inputs_its_unheld_champion_shares(daemon: Daemon, sample_records: list[dict[str, Any]],
                                                               tmp_path: Path) -> None:
    """The other way round: the shadow (v2) is held, the champion (v1) that logged the inputs is not."""
    from appliance.home.context import open_context
    from appliance.home import Home
    from appliance.maintenance.retention import prune
    from appliance.registry.holds import place_hold

    home = daemon.home
    _traffic(daemon, sample_records)
    daemon.stop()
    _age(home, 40)
    with open_context(Home(home)) as ctx:
        place_hold(ctx.store, "delay", 2, "case 8", "ann")
        assert prune(ctx, days=30)["inputs_deleted"] == {"delay": 0}
    assert _inputs(home) == {"old-a": 3, "old-b": 3}
    assert query(home, "SELECT count(*) FROM rejected_requests") == [(1,)]


def test_a_model_hold_keeps_every_artifact_and_file(home: Path, cli: Callable[..., Any],
                                                    write_spec: Callable[..., Path]) -> None:
    """Artifacts, scoring plans and snapshot files of every version of a held model survive retention."""
    from appliance.home.context import open_context
    from appliance.home import Home

    for seed in (7, 8, 9):
        assert cli("train", "--spec", write_spec(f"s{seed}.toml", seed=seed), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    assert cli("promote", "delay", "2", "--to", "champion", "--reason", "better", "--home", home).code == 0
    with open_context(Home(home)) as ctx:
        ctx.store.execute("UPDATE model_versions SET created_at = created_at - INTERVAL 100 DAY")
        ctx.store.execute("UPDATE deployments SET changed_at = changed_at - INTERVAL 100 DAY")
    files = sorted(p.relative_to(home).as_posix() for folder in ("artifacts", "datasets")
                   for p in (home / folder).rglob("*") if p.is_file())
    plans = query(home, "SELECT count(*) FROM scoring_plans")
    assert cli("holds", "add", "delay", "--reason", "litigation", "--home", home).code == 0
    result = cli("retention", "run", "--artifact-days", "90", "--inputs-days", "1", "--json", "--home", home)
    assert result.code == 0 and json.loads(result.out)["artifacts"]["deleted"] == []
    assert sorted(p.relative_to(home).as_posix() for folder in ("artifacts", "datasets")
                  for p in (home / folder).rglob("*") if p.is_file()) == files
    assert query(home, "SELECT count(*) FROM scoring_plans") == plans
    assert query(home, "SELECT count(*) FROM artifact_deletions") == [(0,)]
