-- Vigil store, schema 4: scoring plans, a model artifact compiled to arrays for fast loading and scoring.
-- A plan is derived data: valid for one artifact, plan format and library environment, and
-- recompiled from the artifact whenever it is missing, damaged or stale.

CREATE TABLE scoring_plans (
    artifact_sha256 VARCHAR NOT NULL,
    plan_format     INTEGER NOT NULL,
    environment     VARCHAR NOT NULL,    -- scikit-learn, NumPy and SciPy versions it was checked with
    plan_sha256     VARCHAR NOT NULL,
    plan_path       VARCHAR NOT NULL,    -- relative to the home
    plan_bytes      BIGINT NOT NULL,
    checked_rows    INTEGER NOT NULL,    -- rows on which it answered exactly as the pipeline
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (artifact_sha256, plan_format, environment)
);
