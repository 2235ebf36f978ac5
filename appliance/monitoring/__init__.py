"""Monitoring: drift statistics (pure functions over arrays) and, later, the jobs that schedule them."""
