"""Alerts and incidents: rules over monitoring observations, routing, incident timelines."""
