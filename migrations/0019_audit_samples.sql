-- Vigil store, schema 19: a random share of answered requests is marked, when it is answered, as an
-- audit sample (`serving.audit_sample_share`). Their labels are sought whatever the decision was,
-- so outcome metrics on them are free of the feedback loop that picks which cases get labelled.
ALTER TABLE prediction_log ADD COLUMN audit_sample BOOLEAN DEFAULT false;
