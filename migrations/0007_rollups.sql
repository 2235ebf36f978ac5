-- Vigil store, schema 7: per-minute rollups of the prediction log for dashboards over long windows.
-- Maintained by the daemon's rollup job for complete minutes; the minutes after the watermark are
-- read from the raw log.

CREATE TABLE request_rollups (
    model_name  VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    minute      TIMESTAMP NOT NULL,
    requests    BIGINT NOT NULL,
    rows        BIGINT NOT NULL,
    latency_sum DOUBLE NOT NULL          -- milliseconds, over requests
);

-- Per-request latency histogram per minute: bucket b holds latencies in (L(b-1), L(b)] ms with
-- L(b) = 0.01 * 1.02^b, so a percentile read from it is within 2% of the exact one.
CREATE TABLE latency_rollups (
    model_name  VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    minute      TIMESTAMP NOT NULL,
    bucket      SMALLINT NOT NULL,
    requests    BIGINT NOT NULL
);

CREATE TABLE rollup_watermarks (
    name   VARCHAR PRIMARY KEY,
    upto   TIMESTAMP NOT NULL            -- every minute before this is rolled up
);
