-- Vigil store, schema 3: drift results, one row per checked window, feature, segment and metric.

CREATE SEQUENCE drift_runs_id START 1;

CREATE TABLE drift_runs (
    run_id        BIGINT PRIMARY KEY DEFAULT nextval('drift_runs_id'),
    model_name    VARCHAR NOT NULL,
    version       INTEGER NOT NULL,
    reference     VARCHAR NOT NULL,      -- 'training' (the version's training rows) or a window
    window_start  TIMESTAMP NOT NULL,
    window_end    TIMESTAMP NOT NULL,
    current_rows  BIGINT NOT NULL,
    reference_rows BIGINT NOT NULL,
    verdict       VARCHAR NOT NULL,      -- worst verdict of the run
    computed_at   TIMESTAMP NOT NULL,
    computed_by   VARCHAR NOT NULL
);

-- segment_column/segment_value are NULL for the whole window; feature '(prediction)' is the model's score.
CREATE TABLE drift_results (
    run_id         BIGINT NOT NULL,
    model_name     VARCHAR NOT NULL,
    version        INTEGER NOT NULL,
    window_start   TIMESTAMP NOT NULL,
    window_end     TIMESTAMP NOT NULL,
    feature        VARCHAR NOT NULL,
    segment_column VARCHAR,
    segment_value  VARCHAR,
    metric         VARCHAR NOT NULL,     -- psi, js, ks_stat, ks_pvalue, chi2_pvalue, missing_ref, missing_cur, unseen_share
    value          DOUBLE,
    verdict        VARCHAR NOT NULL      -- the feature's verdict in that segment
);

-- What an on-call engineer reads: the bins that moved most, quantiles, new categories.
CREATE TABLE drift_explanations (
    run_id         BIGINT NOT NULL,
    feature        VARCHAR NOT NULL,
    segment_column VARCHAR,
    segment_value  VARCHAR,
    explanation    JSON NOT NULL
);
