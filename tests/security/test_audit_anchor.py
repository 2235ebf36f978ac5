"""An anchored audit log: a cut tail, a rewrite with recomputed hashes and a forged anchor are named.

Every commit that adds audit rows appends the new head, signed with the home's Ed25519 anchor key,
to `<home>/audit-anchors.jsonl`. The attacks edit the store with raw DuckDB, as someone with the
files (and no daemon running) would.
"""

from __future__ import annotations

import getpass
import json
import signal
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest

from daemon_support import Daemon, admin
from support import query

ANCHORS = "audit-anchors.jsonl"


@pytest.fixture
def audited(home: Path, cli: Callable[..., Any]) -> Path:
    """A home with six audit rows, each its own commit: an admin, then five users."""
    assert cli("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    for name in ("ann", "bob", "cat", "dan", "eve"):
        assert cli("users", "add", name, "--role", "viewer", "--home", home).code == 0
    return home


def _verify(cli: Callable[..., Any], home: Path) -> tuple[int, str]:
    result = cli("audit", "verify", "--home", home)
    return result.code, result.out + result.err


def _anchors(home: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (home / ANCHORS).read_text().splitlines()]


def _raw(home: Path, *statements: str) -> None:
    """Edit the store directly, as a person with the file would."""
    connection = duckdb.connect(str(home / "vigil.duckdb"))
    try:
        for sql in statements:
            connection.execute(sql)
    finally:
        connection.close()


def _reseal_from(home: Path, first_id: int) -> None:
    """Recompute prev_hash and row_hash from `first_id` on with the code's own canonical hash, so the
    chain alone verifies again (the attack the anchors exist to catch)."""
    from appliance.store import audit_queries as auq
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:
        ids = [row_id for (row_id,) in store.execute("SELECT id FROM audit_log WHERE id >= ? ORDER BY id",
                                                    [first_id])]
        for row_id in ids:
            store.execute("UPDATE audit_log SET prev_hash = coalesce((SELECT row_hash FROM audit_log "
                          "WHERE id < ? ORDER BY id DESC LIMIT 1), '') WHERE id = ?", [row_id, row_id])
            recomputed = next(r[5] for r in auq.recomputed(store) if r[0] == row_id)
            store.execute("UPDATE audit_log SET row_hash = ? WHERE id = ?", [recomputed, row_id])


def test_every_audited_commit_is_anchored_and_an_untouched_log_verifies(audited: Path,
                                                                        cli: Callable[..., Any]) -> None:
    anchors = _anchors(audited)
    heads = query(audited, "SELECT id, row_hash FROM audit_log ORDER BY id")
    assert [(a["rows"], a["last_id"], a["head"]) for a in anchors] == [
        (n, heads[n - 1][0], heads[n - 1][1]) for n in range(1, len(heads) + 1)]
    assert (audited / ANCHORS).stat().st_mode & 0o777 == 0o600
    assert (audited / "keys" / "audit-anchor.key").stat().st_mode & 0o777 == 0o600
    code, out = _verify(cli, audited)
    assert code == 0 and f"audit log intact: 6 rows, head {heads[-1][1]}; matches 6 signed anchors" in out


def test_a_cut_tail_is_named(audited: Path, cli: Callable[..., Any]) -> None:
    [(last_id, last_hash)] = query(audited, "SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1")
    _raw(audited, "DELETE FROM audit_log WHERE id >= (SELECT max(id) - 1 FROM audit_log)")
    code, out = _verify(cli, audited)
    assert code == 1
    assert (f"audit log has 4 rows but anchor 6 recorded 6 rows with head {last_hash} (last id {last_id}): "
            "rows were cut from the end") in out


def test_a_rewrite_with_recomputed_hashes_is_named(audited: Path, cli: Callable[..., Any]) -> None:
    from appliance.registry.audit import verify
    from appliance.store.connection import Store

    ids = [row_id for (row_id,) in query(audited, "SELECT id FROM audit_log ORDER BY id")]
    _raw(audited, f"UPDATE audit_log SET details = '{{\"user\": \"mallory\", \"role\": \"viewer\"}}' "
                  f"WHERE id = {ids[3]}")
    _reseal_from(audited, ids[3])
    with Store.open(audited / "vigil.duckdb", read_only=True) as store:
        assert verify(store, anchored=False)["ok"]  # the chain alone no longer tells
    code, out = _verify(cli, audited)
    assert code == 1 and "audit log was rewritten: at 4 rows its head is" in out
    assert f"the rewrite begins between row {ids[3]} and row {ids[3]}" in out


def test_a_forged_anchor_line_is_named(audited: Path, cli: Callable[..., Any]) -> None:
    """Cutting the tail and appending an anchor for the shorter log fails: the line is not signed by the key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    import base64

    _raw(audited, "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
    [(rows, last_id, head)] = query(audited, "SELECT count(*), max(id), arg_max(row_hash, id) FROM audit_log")
    forged = dict(_anchors(audited)[-1], rows=rows, last_id=last_id, head=head)
    message = json.dumps({k: forged[k] for k in ("rows", "last_id", "head", "at", "key_id")}, sort_keys=True,
                         separators=(",", ":")).encode()
    forged["signature"] = base64.b64encode(Ed25519PrivateKey.generate().sign(message)).decode()
    lines = (audited / ANCHORS).read_text().splitlines()[:-1] + [json.dumps(forged)]
    (audited / ANCHORS).write_text("\n".join(lines) + "\n")
    code, out = _verify(cli, audited)
    assert code == 1 and f"anchor line 6 of {audited / ANCHORS} has a bad signature" in out


def test_a_removed_anchor_file_is_named(audited: Path, cli: Callable[..., Any]) -> None:
    (audited / ANCHORS).unlink()
    code, out = _verify(cli, audited)
    assert code == 1 and f"audit log has 6 rows but {audited / ANCHORS} anchors none" in out


def test_a_backup_carries_the_head_and_a_restore_keeps_anchors_consistent(audited: Path, cli: Callable[..., Any],
                                                                        tmp_path: Path) -> None:
    made = cli("backup", str(tmp_path / "b"), "--home", audited)
    assert made.code == 0, made.err
    manifest = json.loads((tmp_path / "b" / "backup.json").read_text())
    [(head,)] = query(tmp_path / "b", "SELECT arg_max(row_hash, id) FROM audit_log")
    assert manifest["audit_head"]["rows"] == 6 and manifest["audit_head"]["head"] == head
    assert _anchors(tmp_path / "b")[-1]["head"] == head and ANCHORS in manifest["files"]
    # restoring over the home: its own anchors (now 7 rows, with backup.create) are kept beside
    restored = cli("restore", str(tmp_path / "b"), "--replace", "--home", audited)
    assert restored.code == 0 and "audit chain intact" in restored.out, restored.out + restored.err
    assert list(audited.glob(f"{ANCHORS}.before-restore-*"))
    assert [a["rows"] for a in _anchors(audited)] == [1, 2, 3, 4, 5, 6, 7]  # 7: backup.restore
    assert _verify(cli, audited)[0] == 0


def test_anchors_written_through_the_daemon_survive_kill_9(daemon: Daemon, cli: Callable[..., Any]) -> None:
    """Each audited operation's anchor is fsynced before the admin API answers it."""
    for name, role in ((getpass.getuser(), "admin"), ("ann", "viewer"), ("bob", "approver")):
        admin(daemon, "user_add", {"name": name, "role": role})
    admin(daemon, "hold_add", {"name": "delay", "reason": "case 9"})
    daemon.stop(signal.SIGKILL)
    [(rows, head)] = query(daemon.home, "SELECT count(*), arg_max(row_hash, id) FROM audit_log")
    last = _anchors(daemon.home)[-1]
    assert (last["rows"], last["head"]) == (rows, head)
    code, out = _verify(cli, daemon.home)
    assert code == 0, out
