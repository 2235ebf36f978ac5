"""The native scoring, feedback and admin bodies and answers as pydantic models.

The handlers validate with these models, and `GET /openapi.json` is generated from the same models,
so what the document states is what a handler enforces. A body that breaks a model is a 400 naming
each bad field (`labels[2].row_index`), with the kind of problem each is (`invalid_body`,
`invalid_request_id`, `number_too_large`, ...): the field names and messages clients already rely on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, WithJsonSchema,
                      field_validator)
from pydantic_core import PydanticCustomError

from appliance.clock import utc_now
from appliance.core import request_event_time
from appliance.errors import InvalidRequest
from appliance.serving import request_ids

MAX_ROW_INDEX = 2**31 - 1  # row_index is an INTEGER column
MAX_KEY = 128  # routing keys, like request ids
SCALAR = ["number", "string", "boolean", "null"]
MAX_LISTED = 20  # bad fields named in one answer; the message counts the rest
B = TypeVar("B", bound=BaseModel)


class Body(BaseModel):
    """A request body: unknown keys are refused, types are strict (no "3" for 3, no true for 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _problem(kind: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(kind, "{problem}", {"problem": problem})


def _request_id(value: Any) -> Any:
    found = request_ids.problem(value)
    if found is not None:
        raise _problem("invalid_request_id", found)
    return value


def _routing_key(value: Any) -> Any:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY:
        raise _problem("invalid_body", f"must be a string of 1 to {MAX_KEY} characters")
    return value


def _records(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise _problem("invalid_body", "must be a non-empty list of objects")
    return value


def _row_index(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():  # 3.0 is an integer in JSON (and JSON Schema)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _problem("invalid_body", "must be a non-negative integer")
    if value > MAX_ROW_INDEX:
        raise _problem("number_too_large", f"must be at most {MAX_ROW_INDEX}")
    return value


def _label(value: Any) -> Any:
    if value is None:
        raise _problem("invalid_body", "required")
    if not isinstance(value, (bool, int, float, str)):
        raise _problem("invalid_body", "must be text, a number or a boolean")
    if isinstance(value, int) and not isinstance(value, bool) and not _fits_double(value):
        raise _problem("number_too_large", "an integer beyond the range of a number (about ±1.8e308)")
    return value


def _labels(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise _problem("invalid_body", "must be a non-empty list")
    return value


def _event_time(value: Any) -> Any:
    found, problem = request_event_time.read(value, utc_now())
    if problem is not None:
        raise _problem(request_event_time.KIND, problem)
    return found


def _event_time_list(value: Any) -> Any:
    if not isinstance(value, list):
        raise _problem(request_event_time.KIND, "must be a list of event times, one per record")
    return value


def _fits_double(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


RequestId = Annotated[str, Field(min_length=1, max_length=request_ids.MAX_LENGTH, pattern=r"^[A-Za-z0-9._:-]+$",
                                 description="Your own id (default: generated): letters, digits and . _ : -"),
                      BeforeValidator(_request_id)]
RoutingKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY, description="Sticky canary routing key"),
                       BeforeValidator(_routing_key)]
Record = dict[str, Any]
Records = Annotated[list[Record], BeforeValidator(_records), WithJsonSchema({
    "type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": {"type": SCALAR},
        "description": "One value per feature of the model, no other keys: numbers for numeric features, text "
                       "(or integers, booleans) for categorical ones, null for a missing value; and, where the "
                       "model's serving.event_time_column names a column, that column's event time."}})]
RowIndex = Annotated[int, Field(ge=0, le=MAX_ROW_INDEX, description="Which row of the request (default 0)"),
                     BeforeValidator(_row_index)]
EVENT_TIME_FORMS = ("ISO-8601 text (an offset such as Z or +05:30 is converted to UTC; none means UTC) or a number "
                    "of seconds since 1970-01-01 UTC; from 1900-01-01 to a day after now")
EventTime = Annotated[datetime, BeforeValidator(_event_time), WithJsonSchema({
    "type": ["string", "number"], "description": "When what is scored happened: " + EVENT_TIME_FORMS})]
EventTimes = Annotated[list[EventTime | None], BeforeValidator(_event_time_list), WithJsonSchema({
    "type": "array", "items": {"type": ["string", "number", "null"]},
    "description": "One event time per record, in the order of 'records' (null: that record has none): "
                   + EVENT_TIME_FORMS})]
LabelValue = Annotated[Any, BeforeValidator(_label), WithJsonSchema({
    "type": ["boolean", "string", "number"],
    "description": "binary: the class (or true/false); regression: a number; multiclass: a class name of the "
                   "answering version (another is a 400 naming it)"})]


class PredictBody(Body):
    """Records to score with the model's champion (or canary)."""

    records: Records
    request_id: RequestId | None = None
    routing_key: RoutingKey | None = None
    event_time: EventTime | None = None
    event_times: EventTimes | None = None

    @field_validator("event_times", mode="before")
    @classmethod
    def _one_per_record(cls, value: Any, info: ValidationInfo) -> Any:
        """Before any time is read: one per record, and not beside `event_time` (which is for every record)."""
        if value is None:
            return value
        if info.data.get("event_time") is not None:
            raise _problem(request_event_time.KIND,
                           "give event_time (every record) or event_times (one per record), not both")
        records = info.data.get("records")
        if isinstance(value, list) and records is not None and len(value) != len(records):
            raise _problem(request_event_time.KIND,
                           f"has {len(value)} times for {len(records)} records; send one per record")
        return value


class Label(Body):
    """One ground-truth label for a row of an answered request."""

    request_id: RequestId
    row_index: RowIndex = 0
    label: LabelValue
    event_time: EventTime | None = Field(None, description="When the outcome was observed (default: not given)")


class Labels(Body):
    """Many labels in one body: up to 100,000, recorded in one transaction."""

    labels: Annotated[list[Label], BeforeValidator(_labels), Field(min_length=1, max_length=100_000)]


class Answer(BaseModel):
    """An answer body (described, not validated: the server makes it)."""

    model_config = ConfigDict(extra="forbid")


class PredictAnswer(Answer):
    """Predictions, logged durably before this answer."""

    model: str
    version: int
    route: Literal["champion", "canary"]
    request_id: str
    predictions: list[Any] = Field(description="One per record: the class (binary, multiclass) or the value")
    probabilities: list[float] | list[list[float]] | None = Field(
        None, description="binary: the positive class's probability per record; multiclass: per record, every "
                          "class's probability in the order of 'classes'")
    positive_class: str | None = None
    classes: list[str] | None = Field(None, description="multiclass: the class names")
    flags: list[list[str]] | None = Field(None, description="Per record, what its values broke (flagged, not refused)")
    audit_sample: bool | None = Field(None, description="Label this request whatever was decided")
    ignored_columns: list[str] | None = Field(
        None, description="Columns sent that the model does not take, ignored under serving.extra_columns = \"ignore\"")


class LabelResult(Answer):
    """What became of one label."""

    index: int
    status: Literal["recorded", "unchanged", "updated", "unknown_request_id", "wrong_model", "unknown_row"]
    request_id: str | None = None
    row_index: int | None = None
    problem: str | None = None


class FeedbackAnswer(Answer):
    """How many labels of each status, and the results: every label's for a call of at most 1,000 labels
    (`listed` "all"), else only those of the labels not recorded because their row was not answered
    (`listed` "not_answered")."""

    counts: dict[str, int]
    listed: Literal["all", "not_answered"]
    results: list[LabelResult]


class FieldError(Answer):
    """One bad field of a request."""

    field: str
    problem: str
    kind: str | None = None


class ErrorDetail(Answer):
    type: str
    message: str
    errors: list[FieldError] | None = None
    id: str | None = Field(None, description="A server error's id, under which the daemon's log has its details")


class ErrorAnswer(Answer):
    """A refused request: what is wrong, naming each bad field."""

    error: ErrorDetail


class Alive(Answer):
    alive: bool


class Ready(Answer):
    """Whether the store is open and every champion loaded."""

    ready: bool
    models: list[str]
    not_loaded: list[str] | None = None
    error: str | None = None


class OperationAnswer(Answer):
    """An admin operation's result (the same JSON the CLI prints with --json)."""

    result: Any


class DaemonStatus(Answer):
    """The daemon's own state."""

    model_config = ConfigDict(extra="allow")

    pid: int
    uptime_s: float
    ready: bool
    models: list[str]


def parse(model: type[B], body: Any, hint: str = "") -> B:
    """`body` as `model`, or InvalidRequest (400) naming each bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise invalid(e, hint) from None


def feedback(body: Any) -> Label | Labels:
    """A single label object, or {"labels": [...]}."""
    if isinstance(body, dict) and "labels" in body:
        return parse(Labels, body)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a label object or {\"labels\": [...]}", [
            {"field": "(body)", "problem": "must be an object", "kind": "invalid_body"}])
    return parse(Label, body)


def invalid(error: ValidationError, hint: str = "") -> InvalidRequest:
    problems = [_field_error(item) for item in error.errors()]
    problems.sort(key=lambda p: p["problem"] != "unexpected field")  # a misspelt key explains what is missing
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    reason = first["kind"] if first["kind"] != "invalid_body" else "invalid_request"
    return InvalidRequest(f"{first['field']}: {first['problem']}{more}{hint}", problems[:MAX_LISTED], reason=reason)


def _field_error(item: Any) -> dict[str, str]:
    field = field_name(item["loc"])
    kind = item["type"]
    if kind == "missing":
        return {"field": field, "problem": "required", "kind": "invalid_body"}
    if kind == "extra_forbidden":
        return {"field": field, "problem": "unexpected field", "kind": "invalid_body"}
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return {"field": field, "problem": "must be an object", "kind": "invalid_body"}
    if kind in ("invalid_body", "invalid_request_id", "number_too_large", request_event_time.KIND):
        return {"field": field, "problem": item["msg"], "kind": kind}
    return {"field": field, "problem": item["msg"], "kind": "invalid_body"}


def field_name(location: tuple[Any, ...]) -> str:
    """("labels", 2, "row_index") -> "labels[2].row_index"; the whole body is "(body)"."""
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(body)"
