"""The SQL of scoring plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def find(store: Store, artifact_sha256: str, plan_format: int, environment: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM scoring_plans WHERE artifact_sha256 = ? AND plan_format = ? AND environment = ?",
                     [artifact_sha256, plan_format, environment])


def upsert(store: Store, artifact_sha256: str, plan_format: int, environment: str, plan_sha256: str,
           plan_path: str, plan_bytes: int, checked_rows: int, at: datetime) -> None:
    store.execute("INSERT OR REPLACE INTO scoring_plans VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  [artifact_sha256, plan_format, environment, plan_sha256, plan_path, plan_bytes, checked_rows, at])
