-- Vigil store, schema 17: what each version costs. Measured at registration: training CPU and wall
-- time (NULL for imports), artifact size, size in memory, CPU seconds per 1,000 single-row predictions.
-- Measured while serving (added by the daemon's rollup job): CPU seconds spent in predict calls and
-- the rows they answered.
CREATE TABLE version_costs (
    model_name          VARCHAR NOT NULL,
    version             INTEGER NOT NULL,
    training_cpu_s      DOUBLE,
    training_wall_s     DOUBLE,
    artifact_bytes      BIGINT NOT NULL,
    memory_bytes        BIGINT NOT NULL,
    bench_cpu_s_per_1k  DOUBLE,
    serving_cpu_s       DOUBLE NOT NULL DEFAULT 0,
    serving_rows        BIGINT NOT NULL DEFAULT 0,
    updated_at          TIMESTAMP,
    PRIMARY KEY (model_name, version)
);

-- Cost per version for SQL: the serving figure once it has answered 1,000 rows, else the bench.
CREATE VIEW cost AS
SELECT model_name, version, training_cpu_s, training_wall_s, artifact_bytes, memory_bytes, bench_cpu_s_per_1k,
       serving_cpu_s, serving_rows,
       CASE WHEN serving_rows > 0 THEN serving_cpu_s / serving_rows * 1000 END AS serving_cpu_s_per_1k,
       CASE WHEN serving_rows >= 1000 THEN serving_cpu_s / serving_rows * 1000 ELSE bench_cpu_s_per_1k END
           AS cpu_s_per_1k
FROM version_costs;
