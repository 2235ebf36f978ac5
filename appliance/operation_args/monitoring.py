"""Arguments of the monitoring operations: drift, outcomes, alerts, incidents, jobs, reports, scoring."""

from __future__ import annotations

from appliance.operation_args.types import Args, FilePath, Id, Limit, Name, Text, Version, Window


class Drift(Args):
    """Drift of a model's answered traffic against its training rows (or an earlier window of traffic)."""

    name: Name
    window: Window = "24h"
    version: Version | None = None
    reference_window: Window | None = None


class Outcomes(Args):
    """Performance on feedback labels over a window, in rolling buckets."""

    name: Name
    window: Window = "7d"
    bucket: Window = "1d"


class RecentWindow(Args):
    """A per-model report over the last window (quality, system, dashboard)."""

    name: Name
    window: Window = "1h"


class MonitorRun(Args):
    """Run the monitor now for some models (default: every served model) over a window."""

    names: list[Name] | None = None
    window: Window | None = None


class Alerts(Args):
    """Open alerts (with `all`, resolved ones too), of one model or all."""

    all: bool = False
    model: Name | None = None


class AlertMute(Args):
    """Mute a rule for a while, for one model or every model."""

    rule: Name
    model: Name | None = None
    duration: Window
    reason: Text = ""


class Incident(Args):
    """One incident."""

    id: Id


class IncidentNote(Incident):
    """A note on an incident's timeline."""

    text: Text = ""


class IncidentResolve(Incident):
    """Resolve an incident, saying what fixed it."""

    resolution: Text = ""


class Jobs(Args):
    """Recent job runs, of one job or all."""

    limit: Limit | None = 20
    job: Name | None = None


class Retrain(Args):
    """Retrain a model from its current spec on fresh data."""

    name: Name
    reason: Text


class Score(Args):
    """Score a file or a DuckDB query with a version (default: the champion)."""

    name: Name
    input: FilePath | None = None
    query: Text | None = None
    output: FilePath
    rejects: FilePath | None = None
    version: Version | None = None


class Report(Args):
    """Write a model's HTML report over a window."""

    name: Name
    window: Window | None = "7d"
    out: FilePath | None = None


class Reports(Args):
    """Reports written, of one model or all."""

    name: Name | None = None
    limit: Limit | None = 50
