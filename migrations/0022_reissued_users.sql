-- Vigil store, schema 22: a revoked user name can be issued again. A row is one issued token (keyed
-- by its sha256), so a name may have several rows over time; at most one of them is active, which
-- adding a user checks in its transaction. Revoked rows stay, for the audit trail.

CREATE TABLE users_issued (
    name          VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,
    token_sha256  VARCHAR PRIMARY KEY,
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);

INSERT INTO users_issued (name, role, token_sha256, created_by, created_at, revoked_at)
SELECT name, role, token_sha256, created_by, created_at, revoked_at FROM users;

DROP TABLE users;

ALTER TABLE users_issued RENAME TO users;
