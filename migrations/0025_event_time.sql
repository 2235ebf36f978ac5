-- Vigil store, schema 25: event time. A request (or a batch file's row) may say when the thing it
-- scores happened; a label may say when its outcome was observed. Both are kept beside the arrival
-- time (`logged_at`, `received_at`), which stays the time Vigil saw it. NULL: the client gave none,
-- and monitoring by event time uses the arrival time for that row.
ALTER TABLE prediction_log ADD COLUMN event_time TIMESTAMP;
ALTER TABLE feedback ADD COLUMN event_time TIMESTAMP;
