-- Vigil store, schema 1: registry, lineage, dataset snapshots, contracts, deployments, audit log.
-- Every TIMESTAMP is UTC.
-- Versions are immutable: no statement in Vigil updates or deletes a model_versions row.

CREATE SEQUENCE deployments_id START 1;
CREATE SEQUENCE audit_log_id START 1;

CREATE TABLE models (
    name        VARCHAR PRIMARY KEY,
    task        VARCHAR NOT NULL,          -- 'binary' or 'regression'
    description VARCHAR NOT NULL DEFAULT '',
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- A content-addressed Parquet snapshot of the data a version was trained on.
CREATE TABLE dataset_snapshots (
    snapshot_id VARCHAR PRIMARY KEY,       -- sha256 of the Parquet file
    path        VARCHAR NOT NULL,          -- relative to the home
    source      VARCHAR NOT NULL,          -- file path or SQL query it was taken from
    row_count   BIGINT NOT NULL,
    time_column VARCHAR,
    time_min    TIMESTAMP,
    time_max    TIMESTAMP,
    size_bytes  BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- A content-addressed model file (always skops).
CREATE TABLE artifacts (
    sha256      VARCHAR PRIMARY KEY,
    path        VARCHAR NOT NULL,          -- relative to the home
    format      VARCHAR NOT NULL,
    size_bytes  BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE model_versions (
    model_name       VARCHAR NOT NULL REFERENCES models(name),
    version          INTEGER NOT NULL,
    origin           VARCHAR NOT NULL,     -- 'trained' or 'imported'
    artifact_sha256  VARCHAR NOT NULL REFERENCES artifacts(sha256),
    snapshot_id      VARCHAR NOT NULL REFERENCES dataset_snapshots(snapshot_id),
    target           VARCHAR NOT NULL,
    positive_class   VARCHAR,              -- binary models: the label counted as positive
    threshold        DOUBLE,               -- binary models: decision threshold
    features         JSON NOT NULL,        -- [{"name", "kind"}] in model input order
    segments         JSON NOT NULL,        -- segment columns
    time_column      VARCHAR NOT NULL,
    holdout_start    TIMESTAMP NOT NULL,   -- rows at or after this time form the holdout
    train_rows       BIGINT NOT NULL,
    holdout_rows     BIGINT NOT NULL,
    spec_toml        VARCHAR NOT NULL,
    spec_sha256      VARCHAR NOT NULL,
    spec_path        VARCHAR,
    spec_git_commit  VARCHAR,              -- commit of the spec's repository, when it is in one
    spec_git_dirty   BOOLEAN,
    estimator        VARCHAR NOT NULL,     -- fully qualified class of the final estimator
    hyperparameters  JSON NOT NULL,
    seed             INTEGER,
    environment      JSON NOT NULL,        -- python and package versions
    parent_version   INTEGER,              -- champion (else latest version) when this one was made
    imported_from    JSON,                 -- imported versions: original file name, sha256, format
    created_by       VARCHAR NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    reason           VARCHAR NOT NULL DEFAULT '',
    model_card       VARCHAR NOT NULL,     -- Markdown
    PRIMARY KEY (model_name, version)
);

-- Evaluation on the time-based holdout; segment_column/segment_value are NULL for the whole holdout.
CREATE TABLE version_metrics (
    model_name     VARCHAR NOT NULL,
    version        INTEGER NOT NULL,
    segment_column VARCHAR,
    segment_value  VARCHAR,
    metric         VARCHAR NOT NULL,
    value          DOUBLE,                 -- NULL when undefined (e.g. AUC of a one-class segment)
    row_count      BIGINT NOT NULL
);

-- Challenger against the champion of its time, paired on the same holdout rows.
CREATE TABLE version_comparisons (
    model_name        VARCHAR NOT NULL,
    version           INTEGER NOT NULL,
    champion_version  INTEGER,
    metric            VARCHAR NOT NULL,
    higher_is_better  BOOLEAN NOT NULL,
    version_value     DOUBLE,
    champion_value    DOUBLE,
    difference        DOUBLE,              -- version minus champion
    ci_low            DOUBLE,
    ci_high           DOUBLE,
    confidence        DOUBLE,
    resamples         INTEGER,
    row_count         BIGINT,
    status            VARCHAR NOT NULL,    -- 'compared', 'no_champion' or 'not_comparable'
    note              VARCHAR NOT NULL DEFAULT ''
);

-- Data contracts; revision 1 is inferred at training, later revisions are edits.
CREATE TABLE contracts (
    model_name  VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    contract    JSON NOT NULL,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    reason      VARCHAR NOT NULL DEFAULT '',
    PRIMARY KEY (model_name, version, revision)
);

CREATE TABLE aliases (
    model_name VARCHAR NOT NULL,
    alias      VARCHAR NOT NULL,           -- champion, challenger, canary, shadow
    version    INTEGER NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, alias)
);

-- Every alias change, forever.
CREATE TABLE deployments (
    id           BIGINT PRIMARY KEY DEFAULT nextval('deployments_id'),
    model_name   VARCHAR NOT NULL,
    alias        VARCHAR NOT NULL,
    from_version INTEGER,                  -- NULL when the alias was unset
    to_version   INTEGER,                  -- NULL when the alias was removed
    actor        VARCHAR NOT NULL,
    changed_at   TIMESTAMP NOT NULL,
    reason       VARCHAR NOT NULL
);

-- One row per state change, written in the same transaction as the change.
CREATE TABLE audit_log (
    id         BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id'),
    recorded_at TIMESTAMP NOT NULL,
    actor      VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,
    model_name VARCHAR,
    version    INTEGER,
    details    JSON NOT NULL
);

-- The alias map as auditors read it: which version is champion of which model, since when, by whom.
CREATE VIEW current_aliases AS
SELECT a.model_name, a.alias, a.version, a.updated_by, a.updated_at,
       v.snapshot_id, v.artifact_sha256, v.estimator, v.created_by AS version_created_by
FROM aliases a JOIN model_versions v USING (model_name, version);

-- Whole-holdout metrics, one row per version and metric.
CREATE VIEW version_overall_metrics AS
SELECT model_name, version, metric, value, row_count
FROM version_metrics WHERE segment_column IS NULL;
