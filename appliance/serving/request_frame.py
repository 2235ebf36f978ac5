"""Turn a request's columns into the model's typed input frame, checking it against the contract.

Every problem is reported per field (`records[3].distance: expected a number, got "far"`), and
nothing is coerced silently: numbers must be JSON numbers (never booleans or text), categorical
values text, integers or booleans (turned into text by the same rule as training), and NaN or
infinity is refused. Unknown categories and out-of-range numbers follow the model's policy:
rejected, or accepted and flagged on the logged row. The rules and their words are
`contracts.rules`, which batch scoring and training's checks apply too.

Columns the model does not take (`serving.extra_columns`) are found while a body is read, and refused
or ignored in `build_frame`, where the model's policy is known: refused, each is named like any other
bad field; ignored, it is neither checked nor scored nor logged, and the frame lists its name
(`RequestFrame.ignored`) so the answer can say so.

The column a model's `serving.event_time_column` names, when a request carries it and the answering
version takes no feature of that name, is no feature: it is taken out while the body is read (so it
is never an extra column), each value read as an event time (`core.request_event_time`; null: that row has
none) or named as a bad field, and the frame carries the times (`RequestFrame.event_times`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

import numpy as np

from appliance.clock import utc_now
from appliance.contracts import rules
from appliance.contracts.contract import CategoricalColumn, Contract
from appliance.contracts.features import NUMERIC, Feature
from appliance.errors import InvalidRequest
from appliance.core import request_event_time
from appliance.core.inputs import Inputs

MAX_ERRORS = 20
MAX_IGNORED_NAMES = 64  # names of ignored columns kept for the answer


@dataclass(frozen=True, slots=True)
class Policy:
    unknown_category: str = "flag"  # "reject" or "flag"
    out_of_range: str = "flag"
    extra_columns: str = "reject"  # "reject" or "ignore"


@dataclass(frozen=True, slots=True)
class RequestFrame:
    inputs: Inputs
    flags: list[list[str]]
    ignored: tuple[str, ...] = ()  # columns sent that the model does not take, ignored by its policy
    event_times: list[datetime | None] | None = None  # per row, from the event-time column; None: not sent
    event_field: str = ""  # where the event times came from, for messages


class ReadColumns(dict[str, Any]):
    """A body's feature columns by name, with what reading them found wrong: `problems` (missing columns,
    rows that are not objects) and `extra` (columns the model does not take, whose fate is the model's
    policy, applied by `build_frame`). Each list keeps at most MAX_ERRORS items."""

    def __init__(self, columns: dict[str, Any]) -> None:
        super().__init__(columns)
        self.problems: list[dict[str, str]] = []
        self.extra: list[dict[str, str]] = []
        self.extra_names: set[str] = set()
        self.event_times: list[datetime | None] | None = None
        self.event_field = ""

    def problem(self, field: str, problem: str, kind: str) -> None:
        if len(self.problems) < MAX_ERRORS:
            self.problems.append({"field": field, "problem": problem, "kind": kind})

    def take_event_times(self, values: Sequence[Any], where: str, name: str) -> None:
        """The event-time column's values read as times; each bad one is named (`records[3].happened_at`)."""
        times, problems = request_event_time.read_all(values, utc_now())
        for row, problem in problems:
            self.problem(f"{where}[{row}].{name}", problem, request_event_time.KIND)
        self.event_times, self.event_field = times, f"{where}[].{name}"

    def unexpected(self, field: str, name: str) -> None:
        if len(self.extra_names) < MAX_IGNORED_NAMES:
            self.extra_names.add(name)
        if len(self.extra) < MAX_ERRORS:
            self.extra.append({"field": field, "problem": "unexpected column (not a feature of this model)",
                               "kind": "extra_column"})

    def checked(self, extra_columns: str) -> tuple[str, ...]:
        """Raise the problems (and the extra columns, unless the policy ignores them); else the names ignored."""
        refused = self.problems + (self.extra if extra_columns != "ignore" else [])
        if refused:
            errors = _Errors("")
            errors.items = refused[:MAX_ERRORS]
            errors.raise_if_any()
        return tuple(sorted(self.extra_names))


class _Errors:
    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[dict[str, str]] = []

    def add(self, row: int | None, field: str, problem: str, kind: str) -> None:
        if len(self.items) < MAX_ERRORS:
            location = f"{self.where}[{row}].{field}" if row is not None else field
            self.items.append({"field": location, "problem": problem, "kind": kind})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise InvalidRequest(f"{first['field']}: {first['problem']}{more}", self.items,
                                 reason=first["kind"])


def columns_from_records(records: Any, features: list[Feature], where: str = "records",
                         event_column: str = "") -> ReadColumns:
    """Records (a list of objects) to columns; missing fields are errors, extra ones follow the policy; the
    event-time column (`event_column`, unless a feature has its name) is taken out and read as times."""
    if not isinstance(records, list) or not records:
        raise InvalidRequest(f"'{where}' must be a non-empty list of objects", [
            {"field": where, "problem": "must be a non-empty list of objects", "kind": "invalid_body"}])
    names = [f.name for f in features]
    wanted = set(names)
    taken = _event_column(event_column, names)
    columns = ReadColumns({n: [] for n in names})
    times: list[Any] = []
    for row, record in enumerate(records):
        if not isinstance(record, dict):
            columns.problem(f"{where}[{row}].", "must be an object", "invalid_body")
            record = {}
        else:
            for name in sorted(wanted - record.keys()):
                columns.problem(f"{where}[{row}].{name}", "missing column", "missing_column")
            for name in sorted(record.keys() - wanted - {taken}):
                columns.unexpected(f"{where}[{row}].{name}", name)
        for name in names:
            columns[name].append(record.get(name))
        times.append(record.get(taken) if taken else None)
    if taken and any(isinstance(r, dict) and taken in r for r in records):
        columns.take_event_times(times, where, taken)
    return columns


def _event_column(event_column: str, names: list[str]) -> str:
    """The column read as event times: the one configured, unless the version takes a feature of that name
    (a feature is never taken from the model)."""
    return event_column if event_column and event_column not in names else ""


def columns_from_split(columns: Any, data: Any, features: list[Feature], where: str,
                       event_column: str = "") -> dict[str, list[Any]]:
    """Column names plus rows of values (MLflow's dataframe_split) to columns."""
    if not isinstance(columns, list) or not isinstance(data, list) or not data:
        raise InvalidRequest(f"'{where}' needs 'columns' (a list) and 'data' (a non-empty list of rows)", [
            {"field": where, "problem": "needs 'columns' and non-empty 'data'", "kind": "invalid_body"}])
    errors = _Errors(f"{where}.data")
    for row, values in enumerate(data):
        if not isinstance(values, list) or len(values) != len(columns):
            errors.add(row, "", f"must be a list of {len(columns)} values", "invalid_body")
    errors.raise_if_any()
    by_name = {name: [values[i] for values in data] for i, name in enumerate(columns)}
    return check_names(by_name, features, where, event_column)


def check_names(by_name: dict[str, Any], features: list[Feature], where: str, event_column: str = "") -> ReadColumns:
    """Columns given by name: each feature present; others follow the policy (`build_frame`); the event-time
    column (`event_column`, unless a feature has its name) is read as times."""
    names = [f.name for f in features]
    taken = _event_column(event_column, names)
    present = [n for n in names if n in by_name]
    lengths = {len(by_name[n]) for n in present}
    if len(lengths) > 1:
        raise InvalidRequest(f"'{where}' columns have different lengths {sorted(lengths)}", [
            {"field": where, "problem": "columns have different lengths", "kind": "invalid_body"}])
    rows = lengths.pop() if lengths else 0
    columns = ReadColumns({n: by_name[n] if n in by_name else [None] * rows for n in names})
    for name in names:
        if name not in by_name:
            columns.problem(f"{where}.{name}", "missing column", "missing_column")
    for name in sorted(by_name.keys() - set(names) - {taken}):
        columns.unexpected(f"{where}.{name}", name)
    if taken in by_name:
        _take_column(columns, by_name[taken], rows, where, taken)
    return columns


def _take_column(columns: ReadColumns, values: Any, rows: int, where: str, name: str) -> None:
    if not isinstance(values, Sequence) or isinstance(values, str) or (rows and len(values) != rows):
        columns.problem(f"{where}.{name}", f"must be a list of {rows} event times, one per row",
                        request_event_time.KIND)
        return
    columns.take_event_times(values, where, name)


def build_frame(columns: dict[str, Sequence[Any]], features: list[Feature], contract: Contract, policy: Policy,
                *, max_rows: int, where: str = "records") -> RequestFrame:
    """The typed model input for `columns`, or InvalidRequest naming every bad field."""
    ignored = columns.checked(policy.extra_columns) if isinstance(columns, ReadColumns) else ()
    rows = len(next(iter(columns.values()))) if columns else 0
    if rows > max_rows:
        raise InvalidRequest(f"{rows} rows is more than the limit of {max_rows} per request; split the request", [
            {"field": where, "problem": f"{rows} rows; at most {max_rows}", "kind": "too_many_rows"}],
            status=413, reason="too_many_rows")
    errors = _Errors(where)
    flags: list[list[str]] = [[] for _ in range(rows)]
    numeric_features = [f for f in features if f.kind == NUMERIC]
    categorical_features = [f for f in features if f.kind != NUMERIC]
    numeric = np.empty((rows, len(numeric_features)), dtype=np.float64)
    for j, feature in enumerate(numeric_features):
        numeric[:, j] = _numeric(columns[feature.name], feature.name, errors)
    _ranges(numeric, numeric_features, contract, policy, errors, flags)
    categorical = np.empty((rows, len(categorical_features)), dtype=object)
    for j, feature in enumerate(categorical_features):
        spec = contract.columns[feature.name]
        categorical[:, j] = _categorical(columns[feature.name], feature.name, spec, policy, errors, flags)  # type: ignore[arg-type]
    errors.raise_if_any()
    times, field = (columns.event_times, columns.event_field) if isinstance(columns, ReadColumns) else (None, "")
    return RequestFrame(Inputs(tuple(features), numeric, categorical), flags, ignored, times, field)


def _numeric(values: Sequence[Any], name: str, errors: _Errors) -> np.ndarray:
    numbers, problems = rules.read_numbers(values)
    for row, (kind, problem) in problems:
        errors.add(row, name, problem, kind)
    return numbers


def _ranges(numeric: np.ndarray, features: list[Feature], contract: Contract, policy: Policy, errors: _Errors,
            flags: list[list[str]]) -> None:
    """Out-of-range numbers, all numeric columns at once (missing and non-finite values never are)."""
    if not features:
        return
    sides = [rules.bounds(contract.columns[f.name]) for f in features]
    low, high = np.array([s[0] for s in sides]), np.array([s[1] for s in sides])
    below, above = rules.range_sides(numeric, low, high)
    refused = rules.refuses(rules.OUT_OF_RANGE, policy)
    for row, j in zip(*np.nonzero(below | above)):
        name = features[j].name
        if refused:
            kind, problem = rules.out_of_range_problem(numeric[row, j], low[j], high[j])
            errors.add(int(row), name, problem, kind)
        else:
            flags[row].append(rules.flag(rules.OUT_OF_RANGE, name))


def _categorical(values: Sequence[Any], name: str, spec: CategoricalColumn, policy: Policy, errors: _Errors,
                 flags: list[list[str]]) -> list[str | None]:
    known = rules.known_categories(spec)
    refused = rules.refuses(rules.UNKNOWN_CATEGORY, policy)
    out: list[str | None] = []
    for row, value in enumerate(values):
        text, problem = rules.read_category(value)
        if problem is not None:
            errors.add(row, name, problem[1], problem[0])
        elif text is not None and known is not None and text not in known:
            if refused:
                kind, unknown = rules.unknown_category_problem(text)
                errors.add(row, name, unknown, kind)
            else:
                flags[row].append(rules.flag(rules.UNKNOWN_CATEGORY, name))
        out.append(text)
    return out
