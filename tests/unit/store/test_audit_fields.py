"""Schema 13's explicit audit fields: old rows keep their hashes, new fields are sealed into the chain."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from appliance.registry.audit import verify
from appliance.store import migrations
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def _migrations_up_to(tmp_path: Path, last: int) -> Path:
    target = tmp_path / f"migrations-{last}"
    target.mkdir()
    for found in migrations.discover():
        if found.number <= last:
            shutil.copy(found.path, target)
    return target


def test_rows_sealed_before_schema_13_still_verify_after_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "vigil.duckdb") as store:
        migrations.apply(store, _migrations_up_to(tmp_path, 12))
        # Rows as schema 8-12 wrote them: hash over the fields without the explicit ones.
        for n, action in enumerate(["version.trained", "alias.move"], start=1):
            store.execute(
                "INSERT INTO audit_log (id, recorded_at, actor, action, model_name, version, details, prev_hash, row_hash) "
                "SELECT $id, $at, 'ann', $action, 'm', 1, '{}', $prev, sha256(concat_ws(chr(31), $prev, $id::VARCHAR, "
                "strftime($at::TIMESTAMP, '%Y-%m-%d %H:%M:%S.%f'), 'ann', $action, 'm', '1', '{}'))",
                {"id": n, "at": datetime(2026, 1, n), "action": action,
                 "prev": store.scalar("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1") or ""})
        migrations.apply(store)
        upgraded = verify(store)
        assert upgraded["ok"] and upgraded["rows"] == 2
        with store.transaction():
            store.execute("SELECT nextval('audit_log_id') FROM range(2)")
            q.insert_audit(store, datetime(2026, 2, 1), "bob", "alias.move", "m", 2, {"alias": "champion"},
                           subject="alias:m@champion", before={"version": 1}, after={"version": 2}, reason="better")
        result = verify(store)
        assert result["ok"] and result["rows"] == 3
        row = store.row("SELECT subject, before, after, reason FROM audit_log WHERE id = 3")
        assert row is not None and row["subject"] == "alias:m@champion" and row["reason"] == "better"
        assert json.loads(row["before"]) == {"version": 1} and json.loads(row["after"]) == {"version": 2}


def test_changing_an_explicit_field_breaks_the_chain(tmp_path: Path) -> None:
    with Store.open(tmp_path / "vigil.duckdb") as store:
        migrations.apply(store)
        with store.transaction():
            q.insert_audit(store, datetime(2026, 2, 1), "bob", "user.add", None, None, {"user": "eve"},
                           subject="user:eve", after={"role": "viewer"})
            q.insert_audit(store, datetime(2026, 2, 2), "bob", "user.revoke", None, None, {"user": "eve"},
                           subject="user:eve", before={"role": "viewer"})
        assert verify(store)["ok"]
        for sql in ("UPDATE audit_log SET after = '{\"role\": \"admin\"}' WHERE action = 'user.add'",
                    "UPDATE audit_log SET before = NULL, subject = NULL WHERE action = 'user.revoke'"):
            first_id = store.scalar("SELECT min(id) FROM audit_log")
            store.execute("CREATE OR REPLACE TEMP TABLE saved AS SELECT * FROM audit_log")
            store.execute(sql)
            broken = verify(store)
            assert not broken["ok"] and "was changed after it was written" in broken["problem"]
            assert broken["first_bad_row"] >= first_id
            store.execute("DELETE FROM audit_log")
            store.execute("INSERT INTO audit_log SELECT * FROM saved")
            assert verify(store)["ok"]
