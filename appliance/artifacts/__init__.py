"""Model files: skops serialisation with the type allow-list, hash-checked reads and loads.

Below the registry, training and team code (each reads or writes model files through it) and above
`boosters/` (whose structure check runs on every booster loaded).
"""
