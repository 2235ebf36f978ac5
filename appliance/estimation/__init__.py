"""Label-free performance estimation: CBPE for classifiers and DLE for regression (as NannyML does them),
fitted on a version's holdout, estimated over any period of what the version scored."""
