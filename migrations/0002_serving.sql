-- Vigil store, schema 2: the scoring service's prediction log, feedback labels, rejected requests,
-- scoring API keys, and the share of traffic a canary answers.

-- One row per answered (or shadow-scored) record. The record's inputs are in the model's own
-- typed table `prediction_inputs__<model>` (request_id, row_index, one column per feature).
CREATE TABLE prediction_log (
    request_id   VARCHAR NOT NULL,
    row_index    INTEGER NOT NULL,
    logged_at    TIMESTAMP NOT NULL,
    model_name   VARCHAR NOT NULL,
    version      INTEGER NOT NULL,
    route        VARCHAR NOT NULL,      -- champion, canary or shadow
    api          VARCHAR NOT NULL,      -- native, mlflow or v2
    prediction   DOUBLE,                -- regression value, or 1/0 for the positive class
    score        DOUBLE,                -- binary: probability of the positive class
    latency_ms   DOUBLE NOT NULL,       -- whole request, validation to answer (shadow: its own predict)
    flags        VARCHAR[] NOT NULL     -- accepted-but-flagged problems, e.g. 'unknown_category:dest'
);

-- Ground truth by request_id; the latest label for a row wins, earlier ones stay in history.
CREATE TABLE feedback (
    request_id  VARCHAR NOT NULL,
    row_index   INTEGER NOT NULL,
    model_name  VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,       -- as text: 'true'/'false' or the number
    label_value DOUBLE NOT NULL,        -- 1/0 for the positive class, or the regression target
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, row_index)
);

-- Requests refused for a client's mistake; never in the prediction log.
CREATE TABLE rejected_requests (
    request_id  VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    model_name  VARCHAR,
    api         VARCHAR NOT NULL,
    status      INTEGER NOT NULL,
    reason      VARCHAR NOT NULL,       -- first problem's kind, e.g. 'unknown_category', 'invalid_json'
    errors      JSON NOT NULL,          -- every bad field with its problem
    body_excerpt VARCHAR NOT NULL       -- first 2 KiB of the body
);

CREATE TABLE api_keys (
    name        VARCHAR PRIMARY KEY,
    key_sha256  VARCHAR NOT NULL UNIQUE,
    rate_per_second DOUBLE,             -- NULL: no limit
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);

ALTER TABLE aliases ADD COLUMN traffic_percent DOUBLE;   -- canary: share of requests it answers
