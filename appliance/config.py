"""Vigil's configuration: one pydantic model, read from `<home>/vigil.toml`, overridden by environment.

An environment variable `VIGIL_<SECTION>_<KEY>` (for example `VIGIL_SERVER_PORT=8800`) overrides the
key `<key>` of section `[<section>]` in the file. Unknown keys in the file are errors naming the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance.errors import ConfigError
from appliance.field_errors import field_errors

CONFIG_FILE = "vigil.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=_Section)


def _for_model(section: Any, model_name: str, policy: type[P]) -> P:
    """The model's own table (`[section.models.NAME]`), else the section's values of the policy's keys."""
    found = section.models.get(model_name)
    return found if found is not None else policy(**section.model_dump(include=set(policy.model_fields)))


class StoreConfig(_Section):
    """The embedded DuckDB store."""

    threads: int = Field(2, ge=1, le=64, description="Threads DuckDB may use for queries.")
    memory_limit: str = Field("2GB", description="Most memory DuckDB may use, e.g. '2GB'.")


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")
_BYTE_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}


def byte_size(text: str) -> int:
    """Bytes in a size such as '512MB' or '1GiB' (units as DuckDB reads them)."""
    found = _SIZE.fullmatch(text)
    factor = _BYTE_UNITS.get(found.group(2).upper() or "B") if found else None
    if found is None or factor is None:
        raise ValueError(f"'{text}' is not a size; write e.g. '512MB' or '1GB'")
    return int(float(found.group(1)) * factor)


class SqlConfig(_Section):
    """The read-only SQL console: `vigil sql`, the console's SQL screen, and the admin API's `sql`."""

    timeout: float = Field(30.0, gt=0, le=3600, description="Seconds a console query may run (waiting for its "
                           "turn included); then it is stopped and the caller gets an error.")
    max_rows: int = Field(10_000, ge=1, le=1_000_000, description="Most rows a console query returns; a longer "
                          "result is cut there and marked truncated.")
    memory_limit: str = Field("512MB", description="Most memory one console query may use: DuckDB's working memory "
                              "(sorts, hash tables, aggregates) and the rows it returns; above it the query is stopped.")
    concurrent_queries: int = Field(1, ge=1, le=16, description="Console queries the daemon runs at once, each on a "
                                    "low-priority thread; others wait their turn within their timeout.")

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        byte_size(value)
        return value

    @property
    def memory_limit_bytes(self) -> int:
        return byte_size(self.memory_limit)


class ServerConfig(_Section):
    """The daemon's HTTP server (`vigil up`)."""

    host: str = Field("127.0.0.1", description="Address the scoring and admin API listen on.")
    port: int = Field(8700, ge=1, le=65535, description="TCP port of the scoring and admin API.")


class TrainingConfig(_Section):
    """Training and evaluation defaults (a training spec may override the seed)."""

    bootstrap_samples: int = Field(
        500, ge=50, le=10000, description="Resamples of the paired bootstrap against the champion."
    )
    confidence: float = Field(
        0.95, gt=0.5, lt=1.0, description="Confidence level of the bootstrap interval."
    )
    calibration_bins: int = Field(10, ge=2, le=100, description="Equal-width bins of the ECE.")
    min_segment_rows: int = Field(
        30, ge=1, description="Segments with fewer holdout rows are reported with n only."
    )


class ModelPolicy(_Section):
    """What the scoring API does with a model's unknown categories, out-of-range numbers, columns it does not
    take, what `/invocations` answers, and which input column carries each row's event time."""

    unknown_category: Literal["flag", "reject"] = "flag"
    out_of_range: Literal["flag", "reject"] = "flag"
    extra_columns: Literal["reject", "ignore"] = "reject"
    mlflow_output: Literal["auto", "predict", "predict_proba", "decision"] = "auto"
    event_time_column: str = Field("", max_length=128)


class ServingConfig(_Section):
    """The scoring service of `vigil up`."""

    threads: int = Field(64, ge=1, le=256, description="HTTP worker threads. A request waiting for its "
                         "prediction-log commit holds one, so fewer threads than concurrent clients shrinks "
                         "the commit groups (64 connections on 16 threads served a fifth of the requests).")
    audit_sample_share: float = Field(
        0.0, ge=0, le=1, description="Share of answered requests marked, at random, as audit samples: label them "
        "whatever was decided, and outcome metrics on them are free of the feedback loop (0: off)."
    )
    cpu_hour_price: float | None = Field(
        None, ge=0, description="Price of one CPU-hour (any currency): `vigil show` and the console then show what "
        "training and 1,000 predictions cost."
    )
    max_queue: int = Field(
        64, ge=1, description="Requests waiting for a worker before new ones get 503 with Retry-After."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted (413 above).")
    max_feedback_body_bytes: int = Field(
        33_554_432, ge=1024, description="Largest feedback body accepted (413 above): labels come up to 100,000 in "
        "one call, about 60 to 300 bytes each."
    )
    max_rows: int = Field(1000, ge=1, description="Most records in one scoring request (413 above).")
    max_pending_log_rows: int = Field(
        50_000, ge=100, description="Prediction-log rows waiting for commit before requests get 503."
    )
    batching: bool | Literal["auto"] = Field(
        "auto", description="Combine concurrent requests for a version into one predict call (auto: for versions "
        "served through scikit-learn, not for those served by a scoring plan)."
    )
    batch_max_rows: int = Field(64, ge=1, description="Most rows in one micro-batch.")
    batch_max_wait_ms: float = Field(
        0.0, ge=0, le=100, description="Extra wait for a batch to fill (0: batch only what is already queued)."
    )
    model_cache_mb: int = Field(1024, ge=1, description="Memory bound of loaded versions (artifact bytes).")
    require_api_key: bool = Field(False, description="Scoring and feedback need an API key (vigil api-keys add).")
    default_model: str = Field("", description="Model answering /invocations (default: the only served model).")
    unknown_category: Literal["flag", "reject"] = Field(
        "flag", description="Default for unknown categories: accept and flag the row, or reject the request."
    )
    out_of_range: Literal["flag", "reject"] = Field(
        "flag", description="Default for numbers outside the contract's range: flag or reject."
    )
    extra_columns: Literal["reject", "ignore"] = Field(
        "reject", description="Default for input columns (or tensors) the model does not take: reject the request "
        "naming them, or ignore them (neither scored nor logged; the answer lists them), as MLflow does."
    )
    mlflow_output: Literal["auto", "predict", "predict_proba", "decision"] = Field(
        "auto", description="What /invocations answers for a classifier: predict (the estimator's own class, as "
        "`mlflow models serve` answers), predict_proba (every class's probability), decision (the class at the "
        "version's threshold, as the native API answers), or auto (what `mlflow models serve` of the version "
        "answers: the pyfunc function an imported MLflow model was saved with, else predict)."
    )
    event_time_column: str = Field(
        "", max_length=128, description="Input column (or Open Inference Protocol tensor) carrying each row's event "
        "time (ISO-8601 text or epoch seconds): not a feature, taken out before scoring and stored as the row's "
        "event_time; a version with a feature of that name keeps it as its feature (empty: none)."
    )
    shutdown_timeout_s: float = Field(30.0, gt=0, description="Longest wait for in-flight requests on shutdown.")
    read_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="Longest time a client may take to send one request's headers and body; "
        "a connection still sending after it is closed (a byte at a time keeps no connection open)."
    )
    max_connections_per_client: int = Field(
        256, ge=1, le=1000, description="Open connections one client address may hold (of 1,000 in all); more are "
        "answered 429 and closed at once. Behind a proxy on this box every request comes from the proxy: raise it "
        "to the proxy's upstream pool."
    )
    models: dict[str, ModelPolicy] = Field(
        default_factory=dict, description="Per-model overrides: [serving.models.NAME] unknown_category = ..."
    )

    def policy_for(self, model_name: str) -> ModelPolicy:
        return _for_model(self, model_name, ModelPolicy)


_SPAN = r"^\s*[0-9]*[1-9][0-9]*[mhd]\s*$"  # 30m, 24h, 7d


class DriftBands(_Section):
    """A model's monitoring settings: its drift verdict bands (effect sizes) and the clock its windows use."""

    time_axis: Literal["event", "arrival"] = Field(
        "event", description="Clock the monitoring windows of drift, data quality and outcomes use: 'event' (each "
        "row's event time as its client or batch file gave it, else its arrival time) or 'arrival' (when Vigil "
        "answered it). System health (latency, requests/s, errors) is always by arrival time; `--axis` overrides."
    )

    psi_warning: float = Field(0.1, gt=0, description="PSI at or above this is a warning.")
    psi_critical: float = Field(0.25, gt=0, description="PSI above this is critical.")
    js_warning: float = Field(0.1, gt=0, le=1, description="Jensen-Shannon distance at or above this is a warning.")
    js_critical: float = Field(0.2, gt=0, le=1, description="Jensen-Shannon distance above this is critical.")
    false_page_budget_days: float | None = Field(
        None, gt=0, le=3650, allow_inf_nan=False, description="Calibrate each feature's drift thresholds to the reference's own "
        "window-to-window variability, so that a stable model pages (a critical drift verdict) at most once in this "
        "many days by chance, and warns at most ten times as often (docs/monitoring.md, calibrated alerts). Empty: "
        "the fixed bands above."
    )
    calibration_may_lower: bool = Field(
        False, description="Let a calibrated threshold go below its fixed band (a feature so stable that a smaller "
        "move is already unlikely by chance); off: calibration only raises thresholds. A lowered threshold is marked "
        "in `vigil drift`."
    )
    label_key: str | None = Field(
        None, min_length=1, max_length=255, description="Input column that names a prediction in a label file "
        "(a business key such as an order id): `vigil labels load FILE --key COLUMN` joins labels to the answered "
        "rows holding that value. Empty: label files name request_id (and row_index)."
    )
    label_due: str = Field(
        "1d", pattern=_SPAN, description="How long after a prediction its label is due: label coverage is measured "
        "over the rows answered in the span of this length that ended this long ago."
    )
    label_coverage_target: float | None = Field(
        None, gt=0, le=1, description="Share of the predictions that should have a label by their due time; below "
        "it, the label_coverage_ratio observation falls under 1 (default rule: label-coverage-low). Empty: not checked."
    )
    label_max_age: str | None = Field(
        "7d", pattern=_SPAN, description="Labels have stopped when the newest label is older than this while "
        "predictions were made that are due by now (label_age_ratio above 1; default rule: labels-stale). Empty: "
        "not checked."
    )
    label_max_delay: str | None = Field(
        None, pattern=_SPAN, description="Median time from prediction to label, over the labels received in the "
        "last label_due, above which labels are late (label_delay_ratio above 1; default rule: labels-late). "
        "Empty: not checked."
    )
    imported_inputs_share: float = Field(
        1.0, gt=0, le=1, description="Share of a cluster run's rows whose inputs `vigil log import` keeps for "
        "drift (every row's prediction is kept; the same rows are chosen on every box, by a hash of the run id and "
        "row). Drift, segment outcomes and DLE estimates of imported rows read the rows with inputs."
    )


class MonitoringConfig(DriftBands):
    """Drift checks: the default bands and time axis, and their values per model."""

    models: dict[str, DriftBands] = Field(
        default_factory=dict, description="Per-model bands and axis: [monitoring.models.NAME] psi_critical = ..., "
        "time_axis = \"arrival\""
    )

    def bands_for(self, model_name: str) -> DriftBands:
        return _for_model(self, model_name, DriftBands)


class AlertsConfig(_Section):
    """Where alerts go besides the alerts table (rules: <home>/alerts.toml, see `vigil alerts rules`)."""

    jsonl: bool = Field(True, description="Append every alert change to <home>/alerts.jsonl.")
    webhook_url: str = Field("", description="POST each alert change as JSON here (empty: no webhook); an "
                             "http(s) URL with a host, no user or password in it, not this daemon's own port.")
    webhook_timeout_s: float = Field(5.0, gt=0, le=60, description="Timeout of one webhook POST.")
    webhook_attempts: int = Field(5, ge=1, le=20, description="Attempts per alert before giving up.")
    webhook_backoff_s: float = Field(
        0.5, ge=0, le=60, description="Wait before the second attempt; doubles after each failure."
    )

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _webhook_url(value, "the alerts webhook_url")


MAX_COST = 1e9  # an owner's price of one failed request or wrong decision; above it a sum is no estimate


def _webhook_url(value: str, what: str) -> str:
    """An http(s) URL with a host, no user or password in it (the daemon's log quotes a failing URL), no
    control characters; empty means no webhook."""
    from urllib.parse import urlsplit

    if not value:
        return value
    if not value.isprintable() or " " in value:
        raise ValueError(f"{what} must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError as e:
        raise ValueError(f"{what} is not a URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{what} must not hold a user or password (put a token in the path instead)")
    return value


def _check_crontab(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as e:
        raise ValueError(f"'{value}' is not a crontab expression (minute hour day month weekday): {e}") from e
    return value


class _CronSchedule(_Section):
    cron: str = Field(description="Crontab expression in UTC, e.g. '0 3 * * 0' (Sundays 03:00).")

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _check_crontab(value)


class RetrainSchedule(_CronSchedule):
    """A model's scheduled retraining."""


class ScoreSchedule(_CronSchedule):
    """A model's scheduled batch scoring (`vigil score` on a schedule)."""

    input: str | None = Field(None, description="Parquet/CSV file (or glob) to score; relative to the home.")
    query: str | None = Field(None, description="DuckDB query whose rows are scored (instead of input).")
    output: str = Field(description="Parquet file written, relative to the home; {date} and {time} (UTC) are "
                        "replaced, e.g. 'scored/delay-{date}.parquet'.")
    version: int | None = Field(None, ge=1, description="Version that scores (default: the champion at run time).")

    @field_validator("output")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            value.format(date="", time="")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"'{value}' may use only the placeholders {{date}} and {{time}} ({e})") from e
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "ScoreSchedule":
        if (self.input is None) == (self.query is None):
            raise ValueError("give exactly one of input or query")
        return self


BOX_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # a box's name in the lake's partitions


class ExportSchedule(_CronSchedule):
    """The lake export on a schedule (`vigil export` into a fleet's shared directory)."""

    directory: str = Field(description="The lake directory: relative to <home>/exports/, or absolute under "
                           "<home>/exports/ or a directory of [exports] allowed_dirs (checked at `vigil up` and on "
                           "every run, as every output the daemon writes).")
    box: str | None = Field(None, pattern=BOX_PATTERN,
                            description="This box's name in the partitions (default: the host name).")


class JobsConfig(_Section):
    """The daemon's scheduled jobs."""

    enabled: bool = Field(True, description="Run the scheduled jobs in `vigil up`.")
    monitor_every: str = Field(
        "15m", description="Check every served model over the last window of this length (drift, data quality, "
        "outcomes, system), then apply the alert rules."
    )
    rollup_every: str = Field("1m", description="How often complete minutes of the prediction log are rolled up.")
    retention_days: int = Field(30, ge=1, description="Logged inputs older than this many days are deleted.")
    artifact_retention_days: int = Field(
        90, ge=1, description="Artifacts of versions archived (no alias, a newer version exists) longer than this "
        "many days are deleted, unless a pending promotion request or an audit hold names them."
    )
    retention_every: str = Field("1d", description="How often the retention job runs.")
    drift_retrain_windows: int = Field(
        3, ge=0, description="Retrain a model after this many consecutive windows with critical drift (0: never)."
    )
    retrain_busy_share: float = Field(
        0.5, gt=0, le=1, description="While the daemon is answering requests, a retraining process runs at most this "
        "share of the time and is paused in between (1: never paused)."
    )
    replay_every: str = Field(
        "1m", description="How often pending champion and canary requests without replay evidence are replayed "
        "(each request is also replayed as soon as it is filed through the daemon)."
    )
    replay_window: str = Field(
        "24h", description="A replay re-scores the champion's logged traffic of this span, ending at its most "
        "recent answered row whose inputs are kept."
    )
    replay_max_rows: int = Field(
        50_000, ge=1, description="At most this many of those rows (the most recent) are replayed."
    )
    retrain: dict[str, RetrainSchedule] = Field(
        default_factory=dict, description="Scheduled retraining per model: [jobs.retrain.NAME] cron = \"0 3 * * 0\""
    )
    score: dict[str, ScoreSchedule] = Field(
        default_factory=dict, description="Scheduled batch scoring per model: [jobs.score.NAME] cron = \"0 2 * * *\", "
        "input = \"landing/today.parquet\" (or query = \"SELECT ...\"), output = \"scored/NAME-{date}.parquet\""
    )
    report_cron: str = Field(
        "0 6 * * 1", description="When the weekly report of every served model is written to <home>/reports/ "
        "(crontab, UTC; empty: never)."
    )
    report_window: str = Field("7d", description="Window the scheduled reports cover.")
    export: ExportSchedule | None = Field(
        None, description="Keep a fleet's lake directory current with `vigil export` on a schedule: [jobs.export] "
        "cron = \"*/15 * * * *\", directory = \"lake\" (relative to <home>/exports/, or absolute under a "
        "directory of [exports] allowed_dirs), box = \"edge-017\" (default: the host name); docs/scaling.md."
    )

    @field_validator("report_cron")
    @classmethod
    def _report_cron(cls, value: str) -> str:
        return _check_crontab(value) if value else value

    @field_validator("monitor_every", "retention_every", "rollup_every", "report_window", "replay_every",
                     "replay_window")
    @classmethod
    def _span(cls, value: str) -> str:
        from appliance.errors import WindowError
        from appliance.core.windows import parse_window

        try:
            parse_window(value)
        except WindowError as e:
            raise ValueError(str(e)) from e
        return value


class CanaryPolicy(_Section):
    """A model's canary analysis: after a canary has run long enough, compare it with the champion and act."""

    min_seconds: int = Field(1800, ge=1, description="How long a canary runs before it is judged.")
    min_requests: int = Field(200, ge=1, description="Canary requests needed before it is judged.")
    max_error_rate_increase: float = Field(
        0.01, ge=0, description="Server-error rate of the canary minus the champion's, at most."
    )
    max_latency_p95_ratio: float = Field(1.5, gt=0, description="Canary p95 latency over the champion's, at most.")
    max_score_psi: float = Field(0.1, gt=0, description="PSI of the canary's scores against the champion's, at most.")
    max_metric_drop: float = Field(
        0.02, ge=0, description="Drop of the outcome metric (AUC; MAE rise for regression) when both have 30+ labels."
    )
    max_estimated_drop: float = Field(
        0.03, ge=0, description="Before labels exist: the canary's performance estimated without labels, worse than "
        "the champion's over the same period by at most this (drop of estimated ROC AUC; regression: rise of "
        "estimated MAE as a share of the champion's, 0.03 = 3%)."
    )
    on_pass: Literal["promote", "report"] = Field(
        "promote", description="A passing canary asks for promotion to champion: a promotion request with the analysis "
        "as evidence, approved by someone other than the canary's requester when champion is in approval_for.")
    max_percent_without_approval: float = Field(
        25.0, ge=0, le=100, description="A canary answering a larger share of requests needs an approver's approval, "
        "as a champion does.")
    on_fail: Literal["rollback", "report"] = Field("rollback", description="Remove a failing canary (with an alert).")


class CanaryConfig(CanaryPolicy):
    """Canary analysis: the default policy, and a policy per model."""

    models: dict[str, CanaryPolicy] = Field(
        default_factory=dict, description="Per-model canary policy: [canary.models.NAME] min_requests = ..."
    )

    def policy_for(self, model_name: str) -> CanaryPolicy:
        return _for_model(self, model_name, CanaryPolicy)


class PromotionPolicy(_Section):
    """A model's release policy: the gates every promotion request passes, and who must approve it."""

    approval_for: list[str] = Field(
        default_factory=lambda: ["champion"], description="Aliases whose promotion needs an approver's approval."
    )
    expiry_hours: float = Field(24.0, gt=0, description="Pending requests expire after this many hours.")
    min_roc_auc: float = Field(0.5, ge=0, le=1, description="Binary models: holdout ROC AUC at least.")
    max_ece: float = Field(0.1, gt=0, le=1, description="Binary models: expected calibration error at most.")
    comparison_tolerance: float = Field(
        0.01, ge=0, description="Lower bound of the bootstrap interval of (new - champion) above minus this."
    )
    segment_regression_limit: float = Field(
        0.05, ge=0, description="No segment's metric worse than the champion's by more than this."
    )
    latency_budget_ms: float = Field(50.0, gt=0, description="p95 of single-row predict at most.")
    max_contract_violations: float = Field(
        0.01, ge=0, le=1, description="Share of the last 24 h of traffic the new contract would refuse, at most."
    )
    max_demographic_parity_difference: float | None = Field(
        None, ge=0, le=1, description="Binary models with protected attributes: largest gap in selection rate "
        "between groups, at most (unset: reported, not judged)."
    )
    max_equalized_odds_difference: float | None = Field(
        None, ge=0, le=1, description="Binary models with protected attributes: largest gap in TPR or FPR between "
        "groups, at most (unset: reported, not judged)."
    )
    max_cost_ratio: float = Field(
        5.0, gt=0, description="CPU time per prediction at most this many times the champion's (measured the same "
        "way at registration)."
    )
    fairness_min_group_rows: int = Field(
        30, ge=1, description="Groups with fewer holdout rows are reported, not judged."
    )
    max_estimated_drop: float = Field(
        0.03, ge=0, description="A version that scored traffic in the last 24 h (as canary or shadow): its "
        "performance estimated without labels worse than the champion's over the same hours by at most this (drop "
        "of estimated ROC AUC; regression: rise of estimated MAE as a share of the champion's)."
    )


class PromotionConfig(PromotionPolicy):
    """Promotion requests: the default release policy, and a policy per model."""

    models: dict[str, PromotionPolicy] = Field(
        default_factory=dict, description="Per-model policy: [promotion.models.NAME] min_roc_auc = ..."
    )

    def policy_for(self, model_name: str) -> PromotionPolicy:
        return _for_model(self, model_name, PromotionPolicy)


class ExportsConfig(_Section):
    """Where the daemon writes the files its callers name (exports, reports, bundles, backups, scores)."""

    allowed_dirs: list[str] = Field(
        default_factory=list, description="Absolute directories, besides <home>/exports/, under which the daemon "
        "writes outputs named through the admin API (environment: paths separated by ':').")

    @field_validator("allowed_dirs", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [part for part in value.split(os.pathsep) if part] if isinstance(value, str) else value

    @field_validator("allowed_dirs")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for item in value:
            if not Path(item).expanduser().is_absolute():
                raise ValueError(f"'{item}' is not an absolute path")
        return value


ERROR_METRICS = frozenset({"mae", "rmse", "mse", "brier", "log_loss", "ece"})  # lower is better
SLO_WINDOW_DAYS = (3, 366)  # an objective's window, shortest and longest


class SloPolicy(_Section):
    """A model's service level objectives: target shares of good events over a window (unset: objective off)."""

    objectives: list[Literal["availability", "latency", "quality", "label_coverage", "drift"]] = Field(
        ["availability", "latency", "quality", "label_coverage", "drift"], description="The objectives that apply.")
    window: str = Field("30d", description="Span each objective's target and error budget cover (the burn-rate "
                        "alerts' thresholds are the SRE workbook's shares of the budget over this span); 3d to 366d.")
    availability_target: float | None = Field(
        0.995, gt=0, lt=1, description="Share of requests answered without a server error (5xx); a client's "
        "mistake (4xx) spends no budget.")
    latency_threshold_ms: float = Field(250.0, gt=0, le=600_000, description="A request answered within this "
                                        "many ms (read from the latency histogram: its bucket edge at or below) is "
                                        "fast.")
    latency_target: float | None = Field(0.99, gt=0, lt=1, description="Share of answered requests that are fast.")
    quality_metric: str = Field("roc_auc", pattern=r"^[a-z_]{1,40}$", description="Outcome metric of the quality "
                                "objective (realized on labels; its estimate estimated_<metric> where a check has "
                                "no labels): roc_auc or accuracy for a classifier, mae or rmse for a regression.")
    quality_floor: float | None = Field(0.6, allow_inf_nan=False, description="A monitoring check whose quality "
                                        "metric is at or above this is good, or at or below it for an error metric "
                                        "(mae, rmse, mse, brier, log_loss, ece) (unset: no quality objective).")
    label_coverage_floor: float | None = Field(None, ge=0, le=1, description="A check whose label coverage of due "
                                               "rows (label_coverage_due: rows answered label_due ago) is at or above "
                                               "this is good (unset, the default: no label objective; set "
                                               "monitoring's label_due to how late the model's labels come).")
    drift_objective: bool = Field(True, description="A check whose drift verdict is not critical is good.")
    check_target: float = Field(0.9, gt=0, lt=1, description="Share of monitoring checks in the window that must "
                                "be good, for the quality, label and drift objectives.")
    min_requests: int = Field(20, ge=1, description="A burn-rate window with fewer requests than this pages "
                              "nobody (a handful of requests makes any ratio); nor does a spent budget of fewer.")
    min_checks: int = Field(24, ge=1, description="A check objective with fewer checks in its window raises no "
                            "spent-budget alert (one bad check of one is no trend).")

    @property
    def quality_lower_is_better(self) -> bool:
        """Whether the quality metric is an error (its floor is then a ceiling)."""
        return self.quality_metric in ERROR_METRICS

    @field_validator("objectives", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        """Between the longest burn-rate window (3d: each alert's long window lies within the objective's) and a
        year (a budget nobody can spend or see again is no budget; its time-to-exhaustion stays countable)."""
        from appliance.errors import WindowError
        from appliance.core.windows import parse_window

        try:
            span = parse_window(value)
        except WindowError as e:
            raise ValueError(str(e)) from e
        except OverflowError:  # more days than a timedelta holds
            raise ValueError(f"window '{value}' is longer than {SLO_WINDOW_DAYS[1]}d") from None
        if not SLO_WINDOW_DAYS[0] * 86400 <= span.total_seconds() <= SLO_WINDOW_DAYS[1] * 86400:
            raise ValueError(f"window '{value}' must be from {SLO_WINDOW_DAYS[0]}d (the longest burn-rate window) "
                             f"to {SLO_WINDOW_DAYS[1]}d")
        return value


class SloConfig(SloPolicy):
    """Service level objectives per model (`vigil slo`) and burn-rate alerts on their error budgets."""

    models: dict[str, SloPolicy] = Field(
        default_factory=dict, description="Per-model objectives: [slo.models.NAME] availability_target = 0.999, ..."
    )

    def policy_for(self, model_name: str) -> SloPolicy:
        return _for_model(self, model_name, SloPolicy)


class Owner(_Section):
    """Who answers for a model: named on its alerts, incidents and reports; its alerts also go to its webhook."""

    team: str = Field(min_length=1, max_length=80)
    contact: str = Field(min_length=1, max_length=200,
                         description="A person, rota, channel or address that reaches the team.")
    webhook_url: str = Field("", description="Also POST the model's alert changes here (empty: only "
                             "[alerts] webhook_url); an http(s) URL as [alerts] webhook_url.")
    cost_per_failed_request: float | None = Field(None, ge=0, le=MAX_COST, allow_inf_nan=False, description="What "
                                                  "a request answered with a server error or too slowly costs (the "
                                                  "incident's estimated cost).")
    cost_per_wrong_decision: float | None = Field(None, ge=0, le=MAX_COST, allow_inf_nan=False, description="What "
                                                  "one more wrong answer costs (drift and quality breaches).")
    currency: str = Field("", max_length=8, pattern=r"^[A-Za-z$€£¥]*$", description="Unit of the costs, e.g. EUR.")

    @field_validator("team", "contact")
    @classmethod
    def _printable(cls, value: str) -> str:
        """Shown on every page, screen, report and webhook: no control, format (bidi, zero-width) or line
        characters that could reorder or hide what an on-call engineer reads."""
        if not value.isprintable():
            raise ValueError("must be printable text (no control, bidi or zero-width characters)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _webhook_url(value, "an owner's webhook_url")

    @property
    def label(self) -> str:
        return f"{self.team} <{self.contact}>"


class OwnersConfig(_Section):
    """Every model's owner (team, contact) and what its failures cost; `vigil doctor` names models without one."""

    models: dict[str, Owner] = Field(
        default_factory=dict, description="Per-model owner: [owners.models.NAME] team = \"risk\", contact = "
        "\"oncall-risk@example.com\"; optional webhook_url, cost_per_failed_request, cost_per_wrong_decision, currency"
    )

    def owner_of(self, model_name: str) -> Owner | None:
        return self.models.get(model_name)


class VigilConfig(_Section):
    """All of Vigil's settings."""

    store: StoreConfig = StoreConfig()
    sql: SqlConfig = SqlConfig()
    server: ServerConfig = ServerConfig()
    training: TrainingConfig = TrainingConfig()
    serving: ServingConfig = ServingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    alerts: AlertsConfig = AlertsConfig()
    jobs: JobsConfig = JobsConfig()
    canary: CanaryConfig = CanaryConfig()
    promotion: PromotionConfig = PromotionConfig()
    exports: ExportsConfig = ExportsConfig()
    slo: SloConfig = SloConfig()
    owners: OwnersConfig = OwnersConfig()


SECTIONS: dict[str, type[_Section]] = {
    name: field.annotation  # type: ignore[misc]
    for name, field in VigilConfig.model_fields.items()
}


def load_config(home: Path, environ: Mapping[str, str] | None = None) -> VigilConfig:
    """Read `<home>/vigil.toml` (absent means defaults) and apply `VIGIL_<SECTION>_<KEY>` overrides."""
    path = home / CONFIG_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML ({e}); fix the file") from e
    overrides = _env_overrides(os.environ if environ is None else environ)
    for section, key, value in overrides:
        table = data.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{section}' must be a table ([{section}]); fix the file")
        table[key] = value
    try:
        config = VigilConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_blame(e, path, {(s, k) for s, k, _ in overrides})) from e
    _check_budgets(config, path, {(s, k) for s, k, _ in overrides})
    _check_webhooks(config, path)
    return config


def _check_budgets(config: VigilConfig, path: Path, from_env: set[tuple[str, str]]) -> None:
    """A false-page budget shorter than one monitoring check is no budget: the chance of a page per check
    would exceed one, and no threshold can be calibrated to it."""
    from appliance.core.windows import parse_window

    every = config.jobs.monitor_every
    check_days = parse_window(every).total_seconds() / 86400
    bands = {"monitoring": config.monitoring, **{f"monitoring.models.{name}": model
                                                 for name, model in config.monitoring.models.items()}}
    for where, band in bands.items():
        budget = band.false_page_budget_days
        if budget is not None and budget < check_days:
            named = "VIGIL_MONITORING_FALSE_PAGE_BUDGET_DAYS" \
                if where == "monitoring" and ("monitoring", "false_page_budget_days") in from_env \
                else f"'{where}.false_page_budget_days'"
            raise ConfigError(f"{path}: {named}: {budget:g} days is shorter than one "
                              f"monitoring check (jobs.monitor_every = {every.strip()}); give at least {check_days:g} "
                              "(see docs/configuration.md)")


def _check_webhooks(config: VigilConfig, path: Path) -> None:
    """No webhook points at this daemon's own port on this machine: alerts would be POSTed, with the
    daemon's own identity, to its own API."""
    from urllib.parse import urlsplit

    hooks = {"alerts.webhook_url": config.alerts.webhook_url,
             **{f"owners.models.{name}.webhook_url": owner.webhook_url for name, owner in config.owners.models.items()}}
    for where, url in hooks.items():
        if not url:
            continue
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if _loopback(parts.hostname or "") and port == config.server.port:
            raise ConfigError(f"{path}: '{where}': {url} is this daemon's own port ({config.server.port}); "
                              "point it at the receiver of the alerts (see docs/configuration.md)")


def _loopback(host: str) -> bool:
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _blame(error: ValidationError, path: Path, from_env: set[tuple[str, str]]) -> str:
    """Name the environment variable for values that came from it, else the file and key."""
    parts = []
    for item in field_errors(error):
        section, _, key = item["field"].partition(".")
        where = f"VIGIL_{section}_{key}".upper() if (section, key) in from_env else f"'{item['field']}'"
        parts.append(f"{where}: {item['problem']}")
    return f"{path}: " + "; ".join(parts) + " (see docs/configuration.md)"


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[str, str, str]]:
    found = []
    for section, model in SECTIONS.items():
        for key, field in model.model_fields.items():
            if _is_table(field):
                continue
            value = environ.get(f"VIGIL_{section}_{key}".upper())
            if value is not None:
                found.append((section, key, value))
    return found


def render_template() -> str:
    """The commented `vigil.toml` written by `vigil init`: every key, its default and meaning."""
    lines = [
        "# Vigil configuration. Every key is optional; the values shown are the defaults.",
        "# An environment variable VIGIL_<SECTION>_<KEY> overrides a key, e.g. VIGIL_SERVER_PORT=8800.",
        "",
    ]
    for section, model in SECTIONS.items():
        lines.append(f"# {model.__doc__}")
        lines.append(f"[{section}]")
        for key, field in model.model_fields.items():
            if _is_table(field):
                continue
            lines.append(f"# {field.description}")
            default = field.get_default(call_default_factory=True)
            lines.append(f"# {key} = {_toml_value(default)}" if default is not None else
                         f"# {key}: unset by default (give it a value to turn it on)")
        for key, field in model.model_fields.items():
            if _is_table(field):
                examples = {"serving": '#   unknown_category = "reject"', "jobs": '#   cron = "0 3 * * 0"',
                            "jobs.score": '#   cron = "0 2 * * *"\n#   input = "landing/today.parquet"\n'
                                          '#   output = "scored/flight_delay-{date}.parquet"',
                            "promotion": "#   min_roc_auc = 0.7",
                            "canary": "#   min_requests = 1000",
                            "slo": "#   availability_target = 0.999\n#   latency_threshold_ms = 100",
                            "owners": '#   team = "risk"\n#   contact = "oncall-risk@example.com"'}
                example = examples.get(f"{section}.{key}", examples.get(section, "#   psi_critical = 0.3"))
                lines += [f"# {field.description}", f"#   [{section}.{key}.flight_delay]", example]
        lines.append("")
    return "\n".join(lines)


def _is_table(field: Any) -> bool:
    return str(field.annotation).startswith("dict")


def render_reference() -> str:
    """Markdown reference of every configuration key (docs/configuration.md is generated from it)."""
    lines = ["| key | default | environment | meaning |", "|---|---|---|---|"]
    for section, model in SECTIONS.items():
        for key, field in model.model_fields.items():
            if _is_table(field):
                lines.append(f"| `[{section}.{key}.NAME]` | (none) | (file only) | {field.description} |")
                continue
            env = f"VIGIL_{section}_{key}".upper()
            lines.append(
                f"| `{section}.{key}` | `{_toml_value(field.get_default(call_default_factory=True))}` | `{env}` | {field.description} |"
            )
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
