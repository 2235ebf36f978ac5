"""`vigil up`: the one process that owns the store and serves the scoring and admin APIs."""
