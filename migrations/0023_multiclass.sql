-- Vigil store, schema 23: multiclass models. A version names its classes, in the order of its
-- probability columns; a multiclass prediction keeps, besides the predicted class (`prediction`:
-- its position in the version's `classes`) and that class's probability (`score`), every class's
-- probability in `probabilities` (same order as `classes`; NULL for binary and regression rows).
ALTER TABLE model_versions ADD COLUMN classes VARCHAR[];

ALTER TABLE prediction_log ADD COLUMN probabilities DOUBLE[];
