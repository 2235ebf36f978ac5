"""The daemon's scheduled jobs: monitoring checks, retention, retraining."""
