"""The base of every operation's arguments, and the value types they share.

Types are strict (a version is a JSON integer, not "3" or 3.5 or true) and bounded by what the store can
hold, so a client's mistake is refused before the operation starts instead of failing halfway through it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

BIGINT_MAX = 2**63 - 1  # request, incident, hold ids are BIGINT columns
INTEGER_MAX = 2**31 - 1  # versions are INTEGER columns
LONGEST_WINDOW = timedelta(days=3650)
NAME_MAX = 255  # bytes in one part of a file path


class Args(BaseModel):
    """Arguments of one operation: unknown keys are refused, types are strict, values immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoArgs(Args):
    """An operation that takes no arguments."""


def _text(value: str) -> str:
    """Refuse what the store and the audit log cannot keep: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


def _path(value: str) -> str:
    """Refuse a path the file system cannot name: a part longer than NAME_MAX (255 bytes)."""
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in value.split("/")):
        raise ValueError(f"each part of the path must be at most {NAME_MAX} bytes")
    return _text(value)


def _window(value: str) -> str:
    """A span such as 30m, 24h or 7d, read by the parser every monitoring function uses."""
    from appliance.errors import WindowError
    from appliance.core.windows import parse_window

    try:
        span = parse_window(value)
    except WindowError as e:
        raise ValueError(str(e)) from None
    except OverflowError:  # more days than a timedelta holds
        span = timedelta.max
    if span > LONGEST_WINDOW:
        raise ValueError(f"window '{value}' is longer than {LONGEST_WINDOW.days}d")
    return value


def _moment(value: str) -> str:
    """A time such as 2016-03-01, 2016-03-01T12:00 or 2016-03-01T12:00:00+02:00 (no zone: UTC)."""
    from datetime import datetime, timezone

    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date or time like 2016-03-01 or 2016-03-01T12:00") from None
    try:
        parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed
    except OverflowError:  # an offset moving the time before year 1 or past year 9999 in UTC
        raise ValueError(f"'{value}' is outside the years 1 to 9999 in UTC") from None
    return value


def _chunk(value: str) -> str:
    """A chunking: a calendar period (1d, 1w, 1M, 1y), rows:N or chunks:N."""
    from appliance.errors import MonitoringError
    from appliance.monitoring.chunking import parse_chunk

    try:
        parse_chunk(value)
    except MonitoringError as e:
        raise ValueError(str(e)) from None
    return value


Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_text)]
FilePath = Annotated[str, Field(min_length=1, max_length=4096, description=f"Each part at most {NAME_MAX} bytes"),
                     AfterValidator(_path)]
Window = Annotated[str, Field(max_length=32, json_schema_extra={"pattern": r"^\s*[0-9]*[1-9][0-9]*[mhd]\s*$"},
                              description="A span such as 30m, 24h or 7d, at most 3650d"), AfterValidator(_window)]
Moment = Annotated[str, Field(min_length=4, max_length=40, description="A date or time in ISO 8601, e.g. "
                              "2016-03-01 or 2016-03-01T12:00 (no zone: UTC)"), AfterValidator(_moment)]
Chunk = Annotated[str, Field(min_length=2, max_length=32, description="A calendar period (30m, 6h, 1d, 1w, 1M, 1y), "
                             "rows:N or chunks:N"), AfterValidator(_chunk)]
Axis = Literal["event", "arrival"]
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_text)]  # a required why
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Version = Annotated[int, Field(ge=1, le=INTEGER_MAX)]
Percent = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
Limit = Annotated[int, Field(ge=1, le=10_000)]
Days = Annotated[int, Field(ge=1, le=36_500)]


def is_file_path(info: FieldInfo) -> bool:
    """Whether a field holds a file path (FilePath, or FilePath | None): the CLI sends it made absolute."""
    checks = list(info.metadata)
    for inner in get_args(info.annotation):
        checks += list(getattr(inner, "__metadata__", ()))
    return any(isinstance(check, AfterValidator) and check.func is _path for check in checks)
