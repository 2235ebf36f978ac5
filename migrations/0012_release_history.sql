-- Vigil store, schema 12: the release history of every version, for auditors — each promotion
-- request with its gate evidence summarised, its decision and who decided, and each alias move.

CREATE VIEW version_releases AS
SELECT r.model_name, r.version, 'request' AS kind, r.request_id, r.alias, r.requested_by AS actor,
       r.requested_at AS happened_at, r.status, r.decided_by, r.decided_at, r.decision, r.reason,
       (SELECT string_agg(e.gate || CASE WHEN e.passed THEN ' ok' ELSE ' FAILED' END, ', ' ORDER BY e.rowid)
        FROM promotion_evidence e WHERE e.request_id = r.request_id) AS gates
FROM promotion_requests r
UNION ALL
SELECT d.model_name, coalesce(d.to_version, d.from_version) AS version, 'deployment' AS kind, NULL, d.alias,
       d.actor, d.changed_at, CASE WHEN d.to_version IS NULL THEN 'removed' ELSE 'moved' END, NULL, NULL,
       'v' || coalesce(d.from_version::VARCHAR, '-') || ' -> v' || coalesce(d.to_version::VARCHAR, '-'), d.reason,
       NULL
FROM deployments d;
