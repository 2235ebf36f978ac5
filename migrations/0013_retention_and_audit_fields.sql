-- Vigil store, schema 13: explicit audit fields, audit holds and artifact retention.
--
-- audit_log gains subject ('alias:credit@champion', 'user:alice', 'incident:7', …), before and after
-- (JSON: the state the row changed from and to; NULL where there was none) and reason. They enter a
-- row's hash as one JSON object appended to the canonical text; rows written before this migration
-- have all four NULL, which leaves their text — and so their hash — as it was.
ALTER TABLE audit_log ADD COLUMN subject VARCHAR;
ALTER TABLE audit_log ADD COLUMN before JSON;
ALTER TABLE audit_log ADD COLUMN after JSON;
ALTER TABLE audit_log ADD COLUMN reason VARCHAR;

-- An audit hold keeps a model's evidence (artifacts and logged inputs) from retention until it is
-- released: one version, or every version when version is NULL.
CREATE SEQUENCE audit_holds_id START 1;
CREATE TABLE audit_holds (
    hold_id        BIGINT PRIMARY KEY DEFAULT nextval('audit_holds_id'),
    model_name     VARCHAR NOT NULL,
    version        INTEGER,
    reason         VARCHAR NOT NULL,
    placed_by      VARCHAR NOT NULL,
    placed_at      TIMESTAMP NOT NULL,
    released_by    VARCHAR,
    released_at    TIMESTAMP,
    release_reason VARCHAR
);

-- An artifact retention deleted: the row in `artifacts` stays (versions refer to it, and its hash
-- is lineage); the files are gone.
CREATE TABLE artifact_deletions (
    artifact_sha256 VARCHAR PRIMARY KEY,
    deleted_at      TIMESTAMP NOT NULL,
    deleted_by      VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    files           JSON NOT NULL       -- paths (relative to the home) of the artifact and its scoring plans
);

-- When each version stopped being live: a version is archived once no alias points at it and a newer
-- version of its model exists, since the later of the two events. Live versions have archived_since NULL.
CREATE VIEW version_retention AS
WITH last_alias AS (
    SELECT model_name, version, max(changed_at) AS left_at FROM (
        SELECT model_name, from_version AS version, changed_at FROM deployments WHERE from_version IS NOT NULL
    ) GROUP BY ALL
), newer AS (
    SELECT v.model_name, v.version, min(n.created_at) AS superseded_at
    FROM model_versions v JOIN model_versions n ON n.model_name = v.model_name AND n.version > v.version
    GROUP BY ALL
)
SELECT v.model_name, v.version, v.artifact_sha256, v.created_at,
       (SELECT string_agg(a.alias, ', ' ORDER BY a.alias) FROM aliases a
        WHERE a.model_name = v.model_name AND a.version = v.version) AS aliases,
       CASE WHEN NOT EXISTS (SELECT 1 FROM aliases a WHERE a.model_name = v.model_name AND a.version = v.version)
                 AND n.superseded_at IS NOT NULL
            THEN greatest(n.superseded_at, coalesce(l.left_at, n.superseded_at)) END AS archived_since,
       EXISTS (SELECT 1 FROM promotion_requests r WHERE r.model_name = v.model_name AND r.version = v.version
               AND r.status = 'pending') AS pending_request,
       EXISTS (SELECT 1 FROM audit_holds h WHERE h.model_name = v.model_name AND h.released_at IS NULL
               AND (h.version IS NULL OR h.version = v.version)) AS held,
       d.deleted_at AS artifact_deleted_at
FROM model_versions v
LEFT JOIN newer n USING (model_name, version)
LEFT JOIN last_alias l USING (model_name, version)
LEFT JOIN artifact_deletions d ON d.artifact_sha256 = v.artifact_sha256;
