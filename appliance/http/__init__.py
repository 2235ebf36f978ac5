"""The daemon's HTTP layer: WSGI plumbing, the three scoring protocols, admin API, health, metrics."""
