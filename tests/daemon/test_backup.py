"""`vigil backup` while the daemon scores, and `vigil restore` into a new home that serves the same."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable

from daemon_support import Daemon, start_daemon
from support import query


def test_backup_under_load_restores_a_home_that_answers_the_same(
        daemon: Daemon, sample_records: list[dict[str, Any]], tmp_path: Path, vigil: Callable[..., Any]) -> None:
    before = [daemon.post("/v1/models/delay/predict", {"records": [r], "request_id": f"before-{i}"})[1]
              for i, r in enumerate(sample_records[:20])]
    stop = threading.Event()
    answered: list[int] = []

    def client() -> None:
        i = 0
        while not stop.is_set():
            status, _ = daemon.post("/v1/models/delay/predict", {"records": [sample_records[i % 50]]})
            answered.append(status)
            i += 1

    load = threading.Thread(target=client)
    load.start()
    backup = daemon.home / "exports" / "backup"  # through the daemon, outputs go under <home>/exports/
    try:
        result = vigil("backup", backup, "--home", daemon.home, "--json")
    finally:
        stop.set()
        load.join()
    assert result.code == 0, result.err
    made = json.loads(result.out)
    assert made["files"] >= 4 and set(answered) == {200} and len(answered) > 0  # scoring went on meanwhile
    manifest = json.loads((backup / "backup.json").read_text())
    assert "vigil.duckdb" in manifest["files"] and "admin.token" not in manifest["files"]
    assert any(name.startswith("artifacts/") for name in manifest["files"])
    daemon.stop()
    assert query(daemon.home, "SELECT count(*) FROM audit_log WHERE action = 'backup.create'") == [(1,)]

    restored = tmp_path / "restored"
    done = vigil("restore", backup, "--home", restored)
    assert done.code == 0 and "audit chain intact" in done.out, done.err
    logged = query(restored, "SELECT count(*) FROM prediction_log WHERE request_id LIKE 'before-%'")
    assert logged == [(20,)]  # everything acknowledged before the backup is in it
    assert vigil("audit", "verify", "--home", restored).code == 0
    again = start_daemon(restored, tmp_path / "restored.log")
    try:
        for i, r in enumerate(sample_records[:5]):
            status, answer = again.post("/v1/models/delay/predict", {"records": [r]})
            assert status == 200 and answer["version"] == before[i]["version"]
            assert answer["probabilities"] == before[i]["probabilities"]
    finally:
        again.stop()


def test_backup_and_restore_refusals(fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    target = tmp_path / "backup"
    target.mkdir()
    (target / "note.txt").write_text("mine")
    busy = vigil("backup", target, "--home", fresh_home)
    assert busy.code == 2 and "is not empty" in busy.err
    inside = vigil("backup", fresh_home / "b", "--home", fresh_home)
    assert inside.code == 2 and "inside the home" in inside.err
    assert vigil("backup", tmp_path / "good", "--home", fresh_home).code == 0
    over = vigil("restore", tmp_path / "good", "--home", fresh_home)
    assert over.code == 2 and "already has a store; pass --replace" in over.err
    artifact = next(p for p in (tmp_path / "good" / "artifacts").rglob("*.skops"))
    artifact.write_bytes(artifact.read_bytes() + b"x")
    damaged = vigil("restore", tmp_path / "good", "--home", tmp_path / "new")
    assert damaged.code == 2 and "does not match its recorded sha256" in damaged.err
    assert not (tmp_path / "new" / "vigil.duckdb").exists()  # nothing touched
    partial = vigil("restore", target, "--home", tmp_path / "new")
    assert partial.code == 2 and "has no backup.json" in partial.err


def test_restore_replace_keeps_the_previous_store(fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    assert vigil("backup", tmp_path / "b", "--home", fresh_home).code == 0
    assert vigil("promote", "delay", "2", "--to", "champion", "--reason", "after the backup",
                 "--home", fresh_home).code == 0
    done = vigil("restore", tmp_path / "b", "--home", fresh_home, "--replace")
    assert done.code == 0 and "the store it replaced is kept as" in done.out
    assert query(fresh_home, "SELECT version FROM aliases WHERE alias = 'champion'") == [(1,)]  # as backed up
    kept = next(fresh_home.glob("vigil.duckdb.before-restore-*"))
    from appliance.store.connection import Store

    with Store.open(kept, read_only=True) as store:
        assert store.scalar("SELECT version FROM aliases WHERE alias = 'champion'") == 2
    actions = [a for (a,) in query(fresh_home, "SELECT action FROM audit_log ORDER BY id")]
    assert actions[-1] == "backup.restore"


def test_export_is_incremental_partitioned_parquet_per_box(daemon: Daemon, sample_records: list[dict[str, Any]],
                                                           tmp_path: Path, vigil: Callable[..., Any]) -> None:
    import duckdb

    lake = daemon.home / "exports" / "lake"  # through the daemon, outputs go under <home>/exports/
    for i in range(6):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[i:i + 2]})[0] == 200
    through_daemon = vigil("export", lake, "--box", "live", "--home", daemon.home, "--json")
    assert through_daemon.code == 0 and json.loads(through_daemon.out)["rows"]["prediction_log"] == 0  # < 1 min old
    daemon.stop()
    from appliance.store.connection import Store

    def age(minutes: int) -> None:
        with Store.open(daemon.home / "vigil.duckdb") as store:
            store.execute(f"UPDATE prediction_log SET logged_at = logged_at - INTERVAL {minutes} MINUTE")

    age(5)
    first = json.loads(vigil("export", lake, "--box", "edge-1", "--home", daemon.home, "--json").out)
    assert first["rows"]["prediction_log"] == 12 and set(first["rows"]) >= {"audit_log", "feedback", "drift_results"}
    again = json.loads(vigil("export", lake, "--box", "edge-1", "--home", daemon.home, "--json").out)
    assert again["rows"]["prediction_log"] == 0  # nothing new since
    other = json.loads(vigil("export", lake, "--box", "edge-2", "--home", daemon.home, "--json").out)
    assert other["rows"]["prediction_log"] == 12  # another box starts from the beginning
    rows = duckdb.sql(f"SELECT box, model_name, count(*) FROM read_parquet('{lake}/prediction_log/**/*.parquet', "
                      "hive_partitioning = true) GROUP BY ALL ORDER BY box").fetchall()
    assert rows == [("edge-1", "delay", 12), ("edge-2", "delay", 12)]  # box "live" exported none
    lineage = duckdb.sql(f"SELECT box, count(*) FROM read_parquet('{lake}/version_lineage/**/*.parquet', "
                         "hive_partitioning = true) GROUP BY ALL ORDER BY box").fetchall()
    assert lineage == [("edge-1", 2), ("edge-2", 2), ("live", 2)]
    bad = vigil("export", lake, "--box", "../x", "--home", daemon.home)
    assert bad.code == 2 and "--box is 1-64 letters" in bad.err
