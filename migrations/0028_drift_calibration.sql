-- Vigil store, schema 28: drift thresholds calibrated to a false-page budget, and the thresholds that
-- judged each feature of a drift run.

-- One row per version, calibration inputs, feature and metric (psi or js): the thresholds derived from
-- the reference's window-to-window variability (monitoring.false_page_budget_days). Derived data: a
-- check recomputes it when no row matches its inputs.
CREATE TABLE drift_calibrations (
    model_name        VARCHAR NOT NULL,
    version           INTEGER NOT NULL,
    window_rows       BIGINT NOT NULL,     -- rows per chance window (the check's row count, rounded down)
    budget_days       DOUBLE NOT NULL,     -- at most one chance page per this many days
    checks_per_day    DOUBLE NOT NULL,     -- scheduled checks a day (jobs.monitor_every)
    fixed_warning     DOUBLE NOT NULL,     -- the fixed bands at calibration time
    fixed_critical    DOUBLE NOT NULL,
    may_lower         BOOLEAN NOT NULL,    -- monitoring.calibration_may_lower
    feature           VARCHAR NOT NULL,    -- a feature, '(prediction)', or a class output
    metric            VARCHAR NOT NULL,    -- psi or js
    warning           DOUBLE NOT NULL,     -- the thresholds checks use
    critical          DOUBLE NOT NULL,
    chance_warning    DOUBLE,              -- the chance quantiles before the fixed-band floor (NULL: fixed)
    chance_critical   DOUBLE,
    method            VARCHAR NOT NULL,    -- empirical, modelled, analytic or fixed
    floored           BOOLEAN NOT NULL,    -- a threshold was raised to its fixed band
    lowered           BOOLEAN NOT NULL,    -- a threshold is below its fixed band (may_lower)
    chunks            INTEGER NOT NULL,    -- reference chunks of window_rows compared with the rest
    wander            DOUBLE,              -- chunks' mean PSI (or JS squared) beyond sampling noise
    degrees_freedom   INTEGER NOT NULL,    -- occupied reference bins - 1
    reference_rows    BIGINT NOT NULL,
    computed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (model_name, version, window_rows, budget_days, checks_per_day, fixed_warning, fixed_critical,
                 may_lower, feature, metric)
);

-- The thresholds that judged each whole-window feature of a drift run: 'fixed' (the bands of
-- monitoring.*) or 'calibrated' (drift_calibrations).
CREATE TABLE drift_thresholds (
    run_id         BIGINT NOT NULL,
    feature        VARCHAR NOT NULL,
    judged_by      VARCHAR NOT NULL,       -- fixed or calibrated
    method         VARCHAR,                -- the calibration's method (NULL: fixed)
    psi_warning    DOUBLE NOT NULL,
    psi_critical   DOUBLE NOT NULL,
    js_warning     DOUBLE NOT NULL,
    js_critical    DOUBLE NOT NULL,
    PRIMARY KEY (run_id, feature)
);
