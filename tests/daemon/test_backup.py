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
    try:
        result = vigil("backup", tmp_path / "backup", "--home", daemon.home, "--json")
    finally:
        stop.set()
        load.join()
    assert result.code == 0, result.err
    made = json.loads(result.out)
    assert made["files"] >= 4 and set(answered) == {200} and len(answered) > 0  # scoring went on meanwhile
    manifest = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert "vigil.duckdb" in manifest["files"] and "admin.token" not in manifest["files"]
    assert any(name.startswith("artifacts/") for name in manifest["files"])
    daemon.stop()
    assert query(daemon.home, "SELECT count(*) FROM audit_log WHERE action = 'backup.create'") == [(1,)]

    restored = tmp_path / "restored"
    done = vigil("restore", tmp_path / "backup", "--home", restored)
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
