"""Every error Vigil raises on purpose. The CLI and the HTTP layer each map them in one place."""

from __future__ import annotations


class VigilError(Exception):
    """Base of Vigil's errors: a message meant for the user, naming the problem and the fix."""


class ConfigError(VigilError):
    """The configuration file or an environment override is invalid."""


class UnknownCommand(VigilError):
    """A command the command line cannot run: no declaration, or no handler found for it."""


class HomeError(VigilError):
    """The Vigil home is missing or malformed."""


class OutputRefused(VigilError):
    """An output path outside where outputs may go, or naming a file that exists (HTTP 400)."""


class InputRefused(VigilError):
    """Through the daemon, a file or query a caller names would read the home's private files (HTTP 400)."""


class StoreError(VigilError):
    """The DuckDB store could not be opened or a statement failed."""


class StoreInUse(StoreError):
    """Another process holds the store's lock."""


class StoreFull(StoreError):
    """A store write failed for lack of disk space (HTTP 503 with Retry-After; nothing was written)."""


class MigrationError(StoreError):
    """Migrations are missing, changed after being applied, or newer than this code."""


class QueryError(StoreError):
    """A query written by a user does not parse or fails (a client's mistake, not a store failure)."""


class ReadOnlyViolation(StoreError):
    """A statement that writes was sent to the read-only SQL console."""


class QueryStopped(QueryError):
    """A console query was stopped: it ran past `sql.timeout`, used more than `sql.memory_limit`,
    or its client went away (HTTP 400; nothing was changed)."""


class TrainingError(VigilError):
    """A training, retraining or reproduction cannot run as asked."""


class SpecError(TrainingError):
    """A training spec is invalid."""


class DatasetError(TrainingError):
    """A dataset breaks its training spec; carries the structured validation report."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class ContractError(VigilError):
    """A data contract is invalid or cannot be applied."""


class RegistryError(VigilError):
    """A model, version or alias operation is invalid."""


class ReleaseError(VigilError):
    """A promotion request, approval, alias move or rollback is refused (HTTP 400)."""


class WindowError(VigilError):
    """A time span that is not a duration like 30m, 24h or 7d (HTTP 400)."""


class MonitoringError(VigilError):
    """A monitoring question cannot be answered as asked: a bad window, no traffic, no champion (HTTP 400)."""


class AlertError(VigilError):
    """An alert rule, mute or incident operation is invalid (HTTP 400)."""


class ReportError(VigilError):
    """A report cannot be written as asked (HTTP 400)."""


class ScoringError(VigilError):
    """A batch scoring run cannot start as asked (HTTP 400)."""


class LabelError(VigilError):
    """Labels that cannot be recorded as asked: a label file with bad labels, an unknown key (HTTP 400)."""


class BundleError(VigilError):
    """A signing key or bundle operation is invalid (HTTP 400)."""


class CustomCodeError(VigilError):
    """A team's code archive cannot be trusted or revoked as asked (HTTP 400)."""


class ExportError(VigilError):
    """A lake export cannot run as asked (HTTP 400)."""


class OperationError(VigilError):
    """An operation is unknown, or cannot run where it was asked to (HTTP 400)."""


class NotFound(RegistryError):
    """A model or version does not exist."""


class ArtifactError(RegistryError):
    """An artifact is missing, changed, or in an unsafe format."""


class CodeNotTrusted(ArtifactError):
    """A model ships a team's code whose archive no admin trusts (HTTP 400)."""


class ArtifactDeleted(ArtifactError):
    """Retention deleted the version's artifact: the version keeps its lineage but cannot serve again."""


class NoScoringPlan(ArtifactError):
    """A version has no scoring plan to export; the message says why and what would give it one."""


class PlanRefused(ArtifactError):
    """A scoring-plan package that is incomplete, unsigned, signed by an untrusted key or altered; `file`
    names the package's file at fault ("" when the package as a whole is)."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file = file


class RunRefused(VigilError):
    """A cluster run that `vigil log import` does not bring home: unfinished, partial, damaged, hostile, or
    scored by a plan this box does not hold (HTTP 400); nothing of it is imported."""


class InvalidRequest(VigilError):
    """A client's request is malformed or breaks the serving version's contract (HTTP 4xx)."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None, status: int = 400,
                 reason: str = "invalid_request") -> None:
        super().__init__(message)
        self.errors = errors or []
        self.status = status
        self.reason = reason


class ModelNotServed(VigilError):
    """No such model, or it has no champion to answer with (HTTP 404)."""


class AccessError(VigilError):
    """A user, role or API key operation is invalid (HTTP 400; its subclasses 401 and 403)."""


class Unauthorized(AccessError):
    """A missing or wrong token or API key (HTTP 401)."""


class Forbidden(AccessError):
    """The caller's role does not allow the action (HTTP 403; the refusal is audited)."""


class RetryLater(VigilError):
    """Rate limited (HTTP 429) or overloaded/shutting down (HTTP 503); carries Retry-After seconds."""

    def __init__(self, message: str, status: int, retry_after: float) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class DaemonError(VigilError):
    """The daemon could not be reached or answered with an error the CLI cannot map."""


class JobsStopping(Exception):
    """The daemon is stopping: a long job (a replay) ends at its next step and runs again after the next
    start. Not a VigilError: nobody is told of it, and it is never recorded as the job's failure."""


class SloJudgingFailed(VigilError):
    """The rollup job rolled up, but judging some model's objectives raised (named, with the error)."""


class PredictorBroken(RuntimeError):
    """The predictor itself failed (its process died, hung or spoke out of turn), whatever the rows: a
    micro-batch that fails so is not predicted again request by request."""
