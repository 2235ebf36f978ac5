-- Vigil store, schema 8: the audit log becomes a hash chain. Each row holds the hash of the previous
-- row and its own: row_hash = sha256(prev_hash, id, recorded_at, actor, action, model_name, version,
-- details joined by U+001F). `vigil audit verify` recomputes it and names the first row that was
-- changed, removed or inserted. Rows written before this migration are sealed into the chain here.

ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR;
ALTER TABLE audit_log ADD COLUMN row_hash VARCHAR;

UPDATE audit_log SET prev_hash = c.prev_hash, row_hash = c.row_hash FROM (
    WITH RECURSIVE o AS (SELECT *, row_number() OVER (ORDER BY id) AS n FROM audit_log),
    chain(n, id, prev_hash, row_hash) AS (
        SELECT 0::BIGINT, NULL::BIGINT, NULL::VARCHAR, ''::VARCHAR
        UNION ALL
        SELECT o.n, o.id, c.row_hash,
               sha256(concat_ws(chr(31), c.row_hash, o.id::VARCHAR, strftime(o.recorded_at, '%Y-%m-%d %H:%M:%S.%f'),
                                o.actor, o.action, coalesce(o.model_name, ''), coalesce(o.version::VARCHAR, ''),
                                o.details::VARCHAR))
        FROM chain c JOIN o ON o.n = c.n + 1)
    SELECT id, prev_hash, row_hash FROM chain WHERE id IS NOT NULL) c
WHERE audit_log.id = c.id;
