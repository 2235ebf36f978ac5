"""The model registry: models, immutable versions, artifacts, aliases and their history."""
