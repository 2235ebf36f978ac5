-- Vigil store, schema 5: what the monitoring jobs observed, the alerts and incidents they raised,
-- and every job run.

CREATE SEQUENCE monitor_runs_id START 1;

-- One row per check of a model over a window (any job or `vigil monitor run`).
CREATE TABLE monitor_runs (
    run_id        BIGINT PRIMARY KEY DEFAULT nextval('monitor_runs_id'),
    model_name    VARCHAR NOT NULL,
    version       INTEGER,               -- the champion checked (NULL: none)
    window_start  TIMESTAMP NOT NULL,
    window_end    TIMESTAMP NOT NULL,
    drift_run_id  BIGINT,                -- drift_runs row of this check, if drift was computed
    computed_at   TIMESTAMP NOT NULL,
    trigger       VARCHAR NOT NULL       -- 'schedule', 'manual', 'startup'
);

-- Every value an alert rule can test: drift (psi, js per feature), data quality (missing_rate per
-- feature, rejected_share, flagged_share, volume_ratio), outcomes (roc_auc, accuracy, brier, mae,
-- rmse, label_coverage), system (p99_latency_ms, error_rate, requests_per_s).
CREATE TABLE monitor_observations (
    run_id      BIGINT NOT NULL,
    model_name  VARCHAR NOT NULL,
    window_end  TIMESTAMP NOT NULL,
    source      VARCHAR NOT NULL,        -- drift, quality, outcomes, system, jobs
    metric      VARCHAR NOT NULL,
    subject     VARCHAR NOT NULL,        -- a feature, '(prediction)' or '(model)'
    value       DOUBLE
);

CREATE SEQUENCE alerts_id START 1;

CREATE TABLE alerts (
    alert_id      BIGINT PRIMARY KEY DEFAULT nextval('alerts_id'),
    rule          VARCHAR NOT NULL,
    model_name    VARCHAR NOT NULL,
    subject       VARCHAR NOT NULL,
    metric        VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,      -- warning or critical
    status        VARCHAR NOT NULL,      -- open or resolved
    value         DOUBLE,                -- latest value that breached
    threshold     DOUBLE NOT NULL,
    windows       INTEGER NOT NULL,      -- consecutive breaching windows when it opened
    message       VARCHAR NOT NULL,
    opened_at     TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    resolved_at   TIMESTAMP,
    muted         BOOLEAN NOT NULL,      -- opened while muted: recorded, not routed
    incident_id   BIGINT
);

-- Consecutive breaching windows per rule and subject (what survives a restart).
CREATE TABLE alert_streaks (
    rule        VARCHAR NOT NULL,
    model_name  VARCHAR NOT NULL,
    subject     VARCHAR NOT NULL,
    breaches    INTEGER NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (rule, model_name, subject)
);

CREATE TABLE alert_mutes (
    rule        VARCHAR NOT NULL,
    model_name  VARCHAR NOT NULL,        -- '*' for every model
    until       TIMESTAMP NOT NULL,
    muted_by    VARCHAR NOT NULL,
    muted_at    TIMESTAMP NOT NULL,
    reason      VARCHAR NOT NULL
);

CREATE SEQUENCE incidents_id START 1;

CREATE TABLE incidents (
    incident_id      BIGINT PRIMARY KEY DEFAULT nextval('incidents_id'),
    model_name       VARCHAR NOT NULL,
    title            VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,   -- open, acknowledged, resolved
    opened_at        TIMESTAMP NOT NULL,
    acknowledged_at  TIMESTAMP,
    acknowledged_by  VARCHAR,
    resolved_at      TIMESTAMP,
    resolved_by      VARCHAR,
    resolution       VARCHAR
);

CREATE TABLE incident_events (
    incident_id  BIGINT NOT NULL,
    at_time      TIMESTAMP NOT NULL,
    kind         VARCHAR NOT NULL,       -- opened, alert, alert_resolved, deployment, retrain, acknowledged, note, resolved
    actor        VARCHAR NOT NULL,
    detail       VARCHAR NOT NULL
);

CREATE SEQUENCE job_runs_id START 1;

CREATE TABLE job_runs (
    run_id       BIGINT PRIMARY KEY DEFAULT nextval('job_runs_id'),
    job          VARCHAR NOT NULL,       -- monitor, retention, retrain
    model_name   VARCHAR,
    trigger      VARCHAR NOT NULL,       -- interval, cron, startup, drift, event, manual
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,       -- running, ok, failed, skipped
    error        VARCHAR,
    detail       JSON
);
ALTER TABLE model_versions ADD COLUMN retrain_trigger VARCHAR;  -- schedule, drift or event for retrained versions
