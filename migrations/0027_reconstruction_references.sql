-- Vigil store, schema 27: each version's fitted multivariate drift reference (derived data, rebuilt
-- from the training snapshot whenever it is missing or damaged). The file holds the imputation,
-- encoding, scaling and principal components fitted on the version's training rows, and those rows'
-- reconstruction errors in time order, from which a window's thresholds are drawn.

CREATE TABLE reconstruction_references (
    model_name      VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    fit_format      INTEGER NOT NULL,
    fit_sha256      VARCHAR NOT NULL,
    fit_path        VARCHAR NOT NULL,    -- relative to the home
    fit_bytes       BIGINT NOT NULL,
    reference_rows  BIGINT NOT NULL,
    components      INTEGER NOT NULL,    -- principal components kept
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, version, fit_format)
);
