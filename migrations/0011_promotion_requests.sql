-- Vigil store, schema 11: promotion requests, the evidence of their gates, and their decisions.

CREATE SEQUENCE promotion_requests_id START 1;

CREATE TABLE promotion_requests (
    request_id      BIGINT PRIMARY KEY DEFAULT nextval('promotion_requests_id'),
    model_name      VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    alias           VARCHAR NOT NULL,
    percent         DOUBLE,
    reason          VARCHAR NOT NULL,
    requested_by    VARCHAR NOT NULL,
    requested_at    TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL,    -- pending, applied, approved, rejected, expired
    expires_at      TIMESTAMP,
    decided_by      VARCHAR,
    decided_at      TIMESTAMP,
    decision        VARCHAR              -- why: failing gates, a rejection reason, 'approved', 'no approval needed'
);

CREATE TABLE promotion_evidence (
    request_id  BIGINT NOT NULL,
    gate        VARCHAR NOT NULL,
    passed      BOOLEAN NOT NULL,
    value       DOUBLE,
    limit_value DOUBLE,
    detail      VARCHAR NOT NULL
);
