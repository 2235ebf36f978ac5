-- Vigil store, schema 21: each alias change says what kind of change it was ('move' by a promotion
-- or a canary's conclusion, 'rollback', 'remove'), so the last known-good champion — the most recent
-- earlier champion that was not itself rolled away from — is one query.

ALTER TABLE deployments ADD COLUMN kind VARCHAR DEFAULT 'move';

UPDATE deployments SET kind = 'remove' WHERE to_version IS NULL;

UPDATE deployments d SET kind = 'rollback'
WHERE d.alias = 'champion' AND EXISTS (
    SELECT 1 FROM audit_log a
    WHERE a.action = 'alias.rollback' AND a.model_name = d.model_name AND a.version = d.to_version
      AND a.recorded_at = d.changed_at);
