"""The SQL the demo runs: console queries it sends through the admin API's `sql` operation, as a
user would, and the training source its spec reads.

The console takes query text, not bound parameters, so the few values in these queries are quoted
here: the demo's own model name, version numbers and the landing folder's path.
"""

from __future__ import annotations

from appliance.store.connection import sql_literal

FEEDBACK_ACCURACY = ("SELECT count(*), avg((p.prediction = f.label_value)::INT) FROM prediction_log p "
                     "JOIN feedback f USING (request_id, row_index)")
LATEST_DRIFT_RETRAIN = ("SELECT v.version, d.row_count, d.time_max FROM model_versions v JOIN dataset_snapshots d "
                        "USING (snapshot_id) WHERE v.retrain_trigger = 'drift' ORDER BY v.version DESC LIMIT 1")
CANARY_SHARE = ("SELECT avg((route = 'canary')::INT) FROM prediction_log WHERE route IN ('champion', 'canary') "
                "AND logged_at >= (SELECT max(changed_at) FROM deployments WHERE alias = 'canary')")
LATEST_CANARY_VERDICT = "SELECT status, detail FROM job_runs WHERE job = 'canary' ORDER BY run_id DESC LIMIT 1"


def sample_source(cutoff: str) -> str:
    """The shipped spec's training source: the sample flights before `cutoff` (YYYY-MM-DD)."""
    return f"SELECT * FROM 'flights.parquet' WHERE time_hour < TIMESTAMP {sql_literal(cutoff)}"


def landed_source(pattern: str) -> str:
    """The demo spec's training source: every Parquet file matching `pattern` (the landing folder)."""
    return f"SELECT * FROM {sql_literal(pattern)}"


def holdout_auc(model_name: str, version: int) -> str:
    return (f"SELECT value FROM version_overall_metrics WHERE model_name = {sql_literal(model_name)} "
            f"AND version = {int(version)} AND metric = 'roc_auc'")


def shadow_agreement(version: int) -> str:
    """Rows the shadow `version` scored alongside the champion: count, agreement, mean score difference."""
    return ("SELECT count(*), avg((c.prediction = s.prediction)::INT), avg(s.score - c.score) FROM prediction_log c "
            "JOIN prediction_log s USING (request_id, row_index) WHERE c.route = 'champion' AND s.route = 'shadow' "
            f"AND s.version = {int(version)}")


def unresolved_incident(model_name: str) -> str:
    return f"SELECT incident_id FROM incidents WHERE model_name = {sql_literal(model_name)} AND status <> 'resolved'"
