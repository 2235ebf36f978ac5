-- Vigil store, schema 16: evaluation per group of each protected attribute a spec names, on the
-- holdout. Per group (group_value set): count, selection_rate, tpr, fpr, roc_auc (binary) or count,
-- mean_prediction, mae (regression). Per attribute (group_value NULL): the gaps between groups with
-- at least `min_group_rows` rows — demographic_parity_difference and equalized_odds_difference
-- (binary) or mae_difference (regression).
CREATE TABLE fairness_metrics (
    model_name     VARCHAR NOT NULL,
    version        INTEGER NOT NULL,
    attribute      VARCHAR NOT NULL,
    group_value    VARCHAR,
    metric         VARCHAR NOT NULL,
    value          DOUBLE,
    row_count      BIGINT NOT NULL,
    min_group_rows INTEGER NOT NULL
);
