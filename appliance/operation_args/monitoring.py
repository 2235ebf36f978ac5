"""Arguments of the monitoring operations: drift, outcomes, alerts, incidents, jobs, reports, scoring."""

from __future__ import annotations

from appliance.operation_args.types import Args, Axis, Chunk, FilePath, Id, Limit, Moment, Name, Text, Version, Window


class Drift(Args):
    """Drift of a model's answered traffic against its training rows (or an earlier window of traffic)."""

    name: Name
    window: Window = "24h"
    version: Version | None = None
    reference_window: Window | None = None
    axis: Axis | None = None


class Outcomes(Args):
    """Performance on feedback labels over a window, in rolling buckets."""

    name: Name
    window: Window = "7d"
    bucket: Window = "1d"
    axis: Axis | None = None


class RecentWindow(Args):
    """A per-model report over the last window (quality, system, dashboard)."""

    name: Name
    window: Window = "1h"


class QualityWindow(RecentWindow):
    """Data quality over the last window, on a time axis (default: the model's)."""

    axis: Axis | None = None


class Estimate(Args):
    """Estimate a version's performance without labels over the last window, or a past period [start, end),
    per chunk; the estimates are stored."""

    name: Name
    window: Window = "7d"
    start: Moment | None = None
    end: Moment | None = None
    chunk: Chunk | None = None
    axis: Axis | None = None
    version: Version | None = None


class Estimates(Args):
    """Stored estimates of a model, newest first, those overlapping [start, end) when given."""

    name: Name
    start: Moment | None = None
    end: Moment | None = None
    limit: Limit | None = 20


class MonitorRun(Args):
    """Run the monitor now for some models (default: every served model) over the last window, or over a
    past period [start, end) cut into chunks."""

    names: list[Name] | None = None
    window: Window | None = None
    start: Moment | None = None
    end: Moment | None = None
    chunk: Chunk | None = None
    axis: Axis | None = None


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
    event_time_column: Name | None = None


class History(Args):
    """Score a historical file with event times, record its labels, check it period by period."""

    name: Name
    input: FilePath
    output: FilePath | None = None
    event_time_column: Name | None = None
    labels: FilePath | None = None
    label_column: Name | None = None
    key: Name | None = None
    chunk: Chunk = "1M"
    version: Version | None = None


class Report(Args):
    """Write a model's HTML report over a window."""

    name: Name
    window: Window | None = "7d"
    out: FilePath | None = None


class LabelsLoad(Args):
    """A file of labels for a model, joined by request id or by a business key."""

    file: FilePath
    name: Name | None = None
    key: Name | None = None


class LogImport(Args):
    """A cluster run's directory (its manifest and scored files), brought into the prediction log."""

    directory: FilePath


class Reports(Args):
    """Reports written, of one model or all."""

    name: Name | None = None
    limit: Limit | None = 50


class Slo(Args):
    """One model's objectives, or every served model's."""

    name: Name | None = None
