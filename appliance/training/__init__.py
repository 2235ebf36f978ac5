"""Training: specs, data snapshots, pipelines, evaluation, comparison and reproduction."""
