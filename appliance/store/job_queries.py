"""SQL of job runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.store.connection import Store


def start(store: Store, job: str, model_name: str | None, trigger: str, at: datetime) -> int:
    return int(store.scalar(
        "INSERT INTO job_runs (job, model_name, trigger, started_at, status) VALUES (?, ?, ?, ?, 'running') "
        "RETURNING run_id", [job, model_name, trigger, at]))


def queue(store: Store, job: str, model_name: str | None, trigger: str, at: datetime, detail: Any) -> int:
    """A run asked for now and waiting for the scheduler to start it (status 'queued')."""
    return int(store.scalar(
        "INSERT INTO job_runs (job, model_name, trigger, started_at, status, detail) "
        "VALUES (?, ?, ?, ?, 'queued', ?) RETURNING run_id", [job, model_name, trigger, at, json.dumps(detail)]))


def begin(store: Store, run_id: int, at: datetime) -> None:
    """A queued run the scheduler now starts."""
    store.execute("UPDATE job_runs SET status = 'running', started_at = ? WHERE run_id = ?", [at, run_id])


def finish(store: Store, run_id: int, status: str, at: datetime, error: str | None, detail: Any) -> None:
    store.execute("UPDATE job_runs SET status = ?, finished_at = ?, error = ?, detail = ? WHERE run_id = ?",
                  [status, at, error, json.dumps(detail, default=str) if detail is not None else None, run_id])


def last_started(store: Store, job: str, model_name: str | None) -> datetime | None:
    found = store.scalar("SELECT max(started_at) FROM job_runs WHERE job = ? AND model_name IS NOT DISTINCT FROM ? "
                         "AND status <> 'skipped'", [job, model_name])
    return found if isinstance(found, datetime) else None


def abandon_running(store: Store, at: datetime) -> int:
    """Runs left 'running' by a daemon that died: marked failed (at start-up)."""
    rows = store.execute("UPDATE job_runs SET status = 'failed', finished_at = ?, error = 'the daemon stopped "
                         "during the run' WHERE status = 'running' RETURNING run_id", [at])
    return len(rows)


def recent(store: Store, limit: int, job: str | None) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM job_runs WHERE (? IS NULL OR job = ?) ORDER BY run_id DESC LIMIT ?",
                      [job, job, limit])
