-- Vigil store, schema 31: failed requests per minute and the latency histogram per hour, for service
-- level objectives; the owner a model had when an alert or incident opened (the configuration may name
-- another owner later).

-- Per-minute counts of refused requests by kind, rolled up with the prediction log: `server_errors` are
-- the service's failures (5xx: a version that raised, rows the log could not store), `client_errors` the
-- client's mistakes (4xx), which spend no error budget.
CREATE TABLE failure_rollups (
    model_name    VARCHAR NOT NULL,
    minute        TIMESTAMP NOT NULL,
    server_errors BIGINT NOT NULL,
    client_errors BIGINT NOT NULL
);

-- The latency histogram per hour, for complete hours the minute rollups already hold (watermark
-- 'latency_hours'): what an objective over 30 days reads instead of 43,200 minutes.
CREATE TABLE latency_hour_rollups (
    model_name  VARCHAR NOT NULL,
    version     INTEGER NOT NULL,
    hour        TIMESTAMP NOT NULL,
    bucket      SMALLINT NOT NULL,
    requests    BIGINT NOT NULL
);

ALTER TABLE alerts ADD COLUMN owner VARCHAR;      -- 'team <contact>' when the alert opened; NULL: no owner
ALTER TABLE incidents ADD COLUMN owner VARCHAR;

-- Refused requests already rolled past the watermark are counted once, here; later minutes by the rollup job.
INSERT INTO failure_rollups
SELECT model_name, date_trunc('minute', received_at), count(*) FILTER (WHERE status >= 500),
       count(*) FILTER (WHERE status < 500)
FROM rejected_requests
WHERE model_name IS NOT NULL
  AND received_at < (SELECT coalesce(max(upto), TIMESTAMP '1970-01-01') FROM rollup_watermarks WHERE name = 'prediction_log')
GROUP BY ALL;
