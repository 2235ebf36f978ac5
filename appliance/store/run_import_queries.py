"""SQL of `vigil log import`: which versions a plan belongs to, whether a run is in already, what its files
hold, and the insert of its rows into the prediction log and the model's input table.

The run's files are read by DuckDB itself (`read_parquet` over the checked list), so no row passes
through Python objects. The paths are the import's own, checked against the manifest's rules (plain
names under the run's directory); they are quoted, never taken as SQL.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.contracts.features import NUMERIC, Feature
from appliance.store.connection import Store
from appliance.store.prediction_queries import column_name, inputs_table


def plan_versions(store: Store, plan_sha256: str) -> list[tuple[str, int]]:
    """(model, version) of every registered version whose scoring plan has this sha256."""
    rows = store.execute(
        "SELECT DISTINCT v.model_name, v.version FROM scoring_plans s JOIN model_versions v "
        "ON v.artifact_sha256 = s.artifact_sha256 WHERE s.plan_sha256 = ? ORDER BY 1, 2", [plan_sha256])
    return [(str(model), int(version)) for model, version in rows]


def imported_before(store: Store, run_id: str) -> bool:
    """Whether a `log import` of this run is on record (the audit row commits with the rows)."""
    return bool(store.scalar("SELECT count(*) FROM audit_log WHERE action = 'log.import' AND subject = ?",
                             [f"run:{run_id}"]))


def rows_with_request_id(store: Store, request_id: str) -> int:
    return int(store.scalar("SELECT count(*) FROM prediction_log WHERE request_id = ?", [request_id]))


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def row_summary(store: Store, paths: list[Path]) -> dict[str, Any]:
    """Over every file of a run (both tables): rows, distinct and extreme input rows, and the distinct
    run ids, models and versions the rows name."""
    row = store.row(
        f"SELECT count(*) AS rows, count(DISTINCT input_row) AS distinct_rows, min(input_row) AS first_row, "
        f"max(input_row) AS last_row, list(DISTINCT run_id) AS run_ids, list(DISTINCT model_name) AS models, "
        f"list(DISTINCT version) AS versions FROM read_parquet({_files(paths)}, union_by_name = true)")
    assert row is not None
    return row


def insert_log_rows(store: Store, paths: list[Path], latency_ms: list[float], run_id: str, model_name: str,
                    version: int, at: datetime, event_time: str | None) -> int:
    """The predictions files' rows into `prediction_log` (route and API `batch`, request id = the run id, row
    index = input row, latency = the file's scoring seconds per row); `event_time` names the input column
    holding event times (timestamps, dates or ISO text; None: no event times)."""
    event = f"TRY_CAST(r.input.{column_name(event_time)} AS TIMESTAMP)" if event_time else "NULL::TIMESTAMP"
    return int(store.scalar(
        f"INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, "
        f"api, prediction, score, latency_ms, flags, audit_sample, probabilities, event_time) "
        f"SELECT ?, r.input_row::INTEGER, ?, ?, ?, 'batch', 'batch', r.prediction, r.score, l.latency_ms, "
        f"coalesce(r.flags, []::VARCHAR[]), false, NULL, {event} "
        f"FROM read_parquet({_files(paths)}, filename = true) r "
        f"JOIN (SELECT unnest(?::VARCHAR[]) AS filename, unnest(?::DOUBLE[]) AS latency_ms) l USING (filename)",
        [run_id, at, model_name, version, [str(p) for p in paths], latency_ms]))


SAMPLE_SCALE = 1_000_000  # a row's inputs are kept when hash(run id, row) % SAMPLE_SCALE < share x SAMPLE_SCALE


def insert_input_rows(store: Store, paths: list[Path], run_id: str, model_name: str, features: list[Feature],
                      share: float = 1.0) -> int:
    """The predictions files' inputs into the model's input table, typed as `vigil score` logs them: every
    row's, or with `share` below 1 those of the rows a hash of the run id and input row chooses (the same
    rows whenever the run is imported); returns the rows kept."""
    names = ", ".join(column_name(f.name) for f in features)
    values = ", ".join(f"TRY_CAST(input.{column_name(f.name)} AS {'DOUBLE' if f.kind == NUMERIC else 'VARCHAR'})"
                       for f in features)
    chosen = "" if share >= 1.0 else \
        f"WHERE hash($1 || ':' || input_row::VARCHAR) % {SAMPLE_SCALE} < {int(share * SAMPLE_SCALE)}"
    return int(store.scalar(f"INSERT INTO {inputs_table(model_name)} (request_id, row_index, {names}) "
                            f"SELECT $1, input_row::INTEGER, {values} FROM read_parquet({_files(paths)}) {chosen}",
                            [run_id]) or 0)


def plan_path(store: Store, plan_sha256: str) -> str | None:
    """Where the home keeps the plan with this sha256 (relative to the home), if it does."""
    found = store.scalar("SELECT plan_path FROM scoring_plans WHERE plan_sha256 = ? LIMIT 1", [plan_sha256])
    return None if found is None else str(found)
