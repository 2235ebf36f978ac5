-- Vigil store, schema 26: the time axis of a stored check. A drift run or monitor run selects the
-- logged rows of its window by event time ('event': a row's event time, else its arrival time) or by
-- arrival time ('arrival'). Runs stored before this schema were all by arrival time.
ALTER TABLE drift_runs ADD COLUMN axis VARCHAR DEFAULT 'arrival';
ALTER TABLE monitor_runs ADD COLUMN axis VARCHAR DEFAULT 'arrival';
