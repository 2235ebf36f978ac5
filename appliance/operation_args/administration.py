"""Arguments of the operations on the store and its users: SQL, audit, users, API keys, retention, copies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from appliance.operation_args.types import Args, Days, FilePath, Limit, Name, Text

Rate = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]


class Sql(Args):
    """One read-only query."""

    query: Text


class ApiKey(Args):
    """One scoring API key, by name."""

    name: Name


class ApiKeyAdd(ApiKey):
    """Create a scoring API key, with an optional rate limit (requests per second)."""

    rate: Rate | None = None


class AuditExport(Args):
    """Write the audit tables as Parquet (and OpenLineage events) into a directory, created if missing."""

    directory: FilePath
    openlineage: bool = False


class AuditLog(Args):
    """The newest audit rows matching a text."""

    filter: Text | None = ""
    limit: Limit | None = 200


class ExplainRequest(Args):
    """Which version answered a request, with what."""

    request_id: Name


class UserAdd(Args):
    """Add a user with a role."""

    name: Name
    role: Literal["viewer", "operator", "approver", "admin"]


class User(Args):
    """One user, by name."""

    name: Name


class RetentionRun(Args):
    """Apply the retention policies now (days default to the configuration's)."""

    dry_run: bool = False
    inputs_days: Days | None = None
    artifact_days: Days | None = None


class RetentionStatus(Args):
    """Each version's retention state, of one model or all."""

    name: Name | None = None


class Backup(Args):
    """A consistent copy of the home into a directory."""

    directory: FilePath


class Export(Args):
    """Logs, lineage and audit as partitioned Parquet."""

    directory: FilePath
    box: Name | None = None
    full: bool = False
