-- Vigil store, schema 9: stable views for auditors (see docs/audit-sql.md).

-- Everything that made a version: data snapshot and hash, spec, code, environment, estimator, artifact.
CREATE VIEW version_lineage AS
SELECT v.model_name, v.version, v.origin, v.created_by, v.created_at, v.reason, v.retrain_trigger,
       v.parent_version, v.snapshot_id, d.source AS snapshot_source, d.row_count AS snapshot_rows,
       d.time_min AS snapshot_time_min, d.time_max AS snapshot_time_max, v.spec_sha256, v.spec_path,
       v.spec_git_commit, v.spec_git_dirty, v.environment, v.estimator, v.hyperparameters, v.seed,
       v.artifact_sha256, a.size_bytes AS artifact_bytes
FROM model_versions v
JOIN dataset_snapshots d USING (snapshot_id)
JOIN artifacts a ON a.sha256 = v.artifact_sha256;

-- Which version answered a request, and what trained it.
CREATE VIEW request_provenance AS
SELECT p.request_id, p.row_index, p.logged_at, p.model_name, p.version, p.route, p.api, p.prediction, p.score,
       l.snapshot_id, l.spec_sha256, l.artifact_sha256, l.estimator, l.created_by AS trained_by,
       l.created_at AS trained_at
FROM prediction_log p
JOIN version_lineage l USING (model_name, version);

-- DORA-style delivery metrics per model: champion changes per day, lead time from training to
-- champion, change failure rate (rollbacks over promotions to champion), MTTR from incidents.
CREATE VIEW dora_metrics AS
WITH champion AS (
    SELECT d.model_name, d.changed_at, date_diff('second', v.created_at, d.changed_at) / 3600.0 AS lead_hours
    FROM deployments d JOIN model_versions v ON v.model_name = d.model_name AND v.version = d.to_version
    WHERE d.alias = 'champion'
), moves AS (
    SELECT model_name,
           count(*) FILTER (WHERE action = 'alias.move' AND details->>'alias' = 'champion') AS promotions,
           count(*) FILTER (WHERE action = 'alias.rollback') AS rollbacks
    FROM audit_log WHERE model_name IS NOT NULL GROUP BY model_name
), recovery AS (
    SELECT model_name, avg(date_diff('second', opened_at, resolved_at)) / 60.0 AS mttr_minutes,
           count(*) AS resolved_incidents
    FROM incidents WHERE status = 'resolved' GROUP BY model_name
)
SELECT c.model_name, count(*) AS champion_changes,
       count(*) / greatest(date_diff('day', min(c.changed_at), max(c.changed_at)) + 1, 1) AS changes_per_day,
       median(c.lead_hours) AS median_lead_time_hours,
       any_value(m.rollbacks) / nullif(any_value(m.promotions), 0) AS change_failure_rate,
       any_value(r.mttr_minutes) AS mttr_minutes, coalesce(any_value(r.resolved_incidents), 0) AS resolved_incidents
FROM champion c
LEFT JOIN moves m USING (model_name)
LEFT JOIN recovery r USING (model_name)
GROUP BY c.model_name;
