-- Vigil store, schema 15: each version's global feature importance (permutation importance on its
-- holdout) and the reference value of each feature (training median or most frequent category), from
-- which `vigil explain-request` measures one prediction's per-feature contributions.
CREATE TABLE feature_importance (
    model_name      VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    feature         VARCHAR NOT NULL,
    importance      DOUBLE,             -- mean drop of the metric when the feature's values are shuffled
    importance_std  DOUBLE,
    metric          VARCHAR NOT NULL,   -- roc_auc (binary) or mae (regression: the rise of MAE)
    repeats         INTEGER NOT NULL,
    row_count       BIGINT NOT NULL,
    reference_value VARCHAR,            -- JSON: the training median (numeric) or most frequent category
    PRIMARY KEY (model_name, version, feature)
);
