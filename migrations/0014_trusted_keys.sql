-- Vigil store, schema 14: the public keys whose signed model bundles this box accepts.
CREATE TABLE trusted_keys (
    name        VARCHAR PRIMARY KEY,
    key_id      VARCHAR NOT NULL UNIQUE,   -- first 16 hex digits of the sha256 of the raw public key
    public_key  VARCHAR NOT NULL,          -- Ed25519, raw 32 bytes, base64
    added_by    VARCHAR NOT NULL,
    added_at    TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
