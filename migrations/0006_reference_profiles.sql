-- Vigil store, schema 6: each version's reference profile for drift checks (derived data, rebuilt
-- from the training snapshot whenever it is missing or damaged).

CREATE TABLE reference_profiles (
    model_name      VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    profile_format  INTEGER NOT NULL,
    profile_sha256  VARCHAR NOT NULL,
    profile_path    VARCHAR NOT NULL,    -- relative to the home
    profile_bytes   BIGINT NOT NULL,
    reference_rows  BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, version, profile_format)
);
