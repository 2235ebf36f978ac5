-- Vigil store, schema 10: users and roles (viewer < operator < approver < admin). A token is shown
-- once when the user is added; only its sha256 is stored.

CREATE TABLE users (
    name          VARCHAR PRIMARY KEY,
    role          VARCHAR NOT NULL,
    token_sha256  VARCHAR NOT NULL UNIQUE,
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
