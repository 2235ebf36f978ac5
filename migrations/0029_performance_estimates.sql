-- Vigil store, schema 29: label-free performance estimates (CBPE for classifiers, DLE for regression).
-- `estimation_references` names each version's fitted reference: its holdout's labels and the
-- version's own scores, with the calibrators fitted on them (derived data in a content-addressed
-- file, rebuilt from the training snapshot whenever it is missing or damaged).
-- `estimate_runs` is one estimate of a version over a period; `performance_estimates` its values per
-- chunk and metric, with the confidence band (3 sampling errors), the alert band from the
-- reference's chunks, and the realized metric when enough labels had arrived.

CREATE TABLE estimation_references (
    model_name        VARCHAR NOT NULL,
    version           INTEGER NOT NULL,
    reference_format  INTEGER NOT NULL,
    method            VARCHAR NOT NULL,     -- 'cbpe' or 'dle'
    reference_sha256  VARCHAR NOT NULL,
    reference_path    VARCHAR NOT NULL,     -- relative to the home
    reference_bytes   BIGINT NOT NULL,
    reference_rows    BIGINT NOT NULL,
    calibrated        VARCHAR NOT NULL,     -- JSON: per class (or 'positive'), whether scores were calibrated
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, version, reference_format)
);

CREATE SEQUENCE estimate_run_ids START 1;

CREATE TABLE estimate_runs (
    run_id        BIGINT PRIMARY KEY DEFAULT nextval('estimate_run_ids'),
    model_name    VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    method        VARCHAR NOT NULL,
    axis          VARCHAR NOT NULL,         -- 'event' or 'arrival'
    period_start  TIMESTAMP NOT NULL,
    period_end    TIMESTAMP NOT NULL,
    chunking      VARCHAR NOT NULL,         -- 'whole', '1d', 'rows:5000', 'count:10'
    rows          BIGINT NOT NULL,
    computed_at   TIMESTAMP NOT NULL,
    computed_by   VARCHAR NOT NULL
);

CREATE TABLE performance_estimates (
    run_id           BIGINT NOT NULL,
    model_name       VARCHAR NOT NULL,
    version          INTEGER NOT NULL,
    axis             VARCHAR NOT NULL,
    chunk_index      INTEGER NOT NULL,
    chunk_start      TIMESTAMP NOT NULL,
    chunk_end        TIMESTAMP NOT NULL,
    rows             BIGINT NOT NULL,
    metric           VARCHAR NOT NULL,      -- 'roc_auc', 'accuracy', 'f1', 'precision', 'recall', 'mae', 'rmse'
    estimate         DOUBLE,
    sampling_error   DOUBLE,
    lower            DOUBLE,                -- confidence band: estimate -/+ 3 sampling errors, within the metric's range
    upper            DOUBLE,
    lower_threshold  DOUBLE,                -- alert band: reference chunks' mean -/+ 3 standard deviations
    upper_threshold  DOUBLE,
    alert            BOOLEAN NOT NULL,
    labelled_rows    BIGINT NOT NULL,
    realized         DOUBLE,                -- the metric on the chunk's labels, when enough had arrived
    PRIMARY KEY (run_id, chunk_index, metric)
);

CREATE INDEX performance_estimates_model ON performance_estimates (model_name, version, chunk_start);
