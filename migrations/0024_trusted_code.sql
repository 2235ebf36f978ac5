-- Vigil store, schema 24: a team's code an admin has trusted. A row trusts one archive of code files
-- (by its sha256, as `vigil code trust` computed it from the files the admin named); a model whose
-- spec ships code is imported and served only while its archive's hash is trusted here. Revoking keeps
-- the row (with who and when), for the audit trail.
CREATE TABLE trusted_code (
    sha256       VARCHAR PRIMARY KEY,
    modules      VARCHAR[] NOT NULL,
    files        JSON NOT NULL,
    trusted_by   VARCHAR NOT NULL,
    trusted_at   TIMESTAMP NOT NULL,
    reason       VARCHAR NOT NULL,
    revoked_by   VARCHAR,
    revoked_at   TIMESTAMP
);
