"""MLflow's scoring bodies other than JSON: their content type, CSV and Parquet, read into columns by name.

`mlflow models serve` takes `application/json`, `text/csv` (read by `pandas.read_csv`, with the
signature's column types) and `application/vnd.apache.parquet` (read by `pandas.read_parquet`);
any other type, a charset other than UTF-8 or any other parameter is refused with 415. Here the
model's features play the signature's part: a CSV cell of a numeric feature is read as a number,
of a categorical one as text, and a cell pandas reads as missing (`""`, `NA`, `null`, ...) is
missing. What is read is then checked against the contract like any other body.

These bodies come from unauthenticated clients, so both are bounded before anything is
materialised: a CSV header names at most MAX_CSV_COLUMNS columns, and its rows are read one at a time,
stopping after `max_rows` + 1; a Parquet file's footer and page headers are read first, and a file
claiming more rows than `max_rows`, or columns that decompress (by the footer or by their page headers,
appliance/http/parquet_pages.py) or expand from their dictionaries to more than MAX_PARQUET_BYTES, is
refused before any page is read.
A file that cannot be read is a 400 that says why.

The model's event-time column (`serving.event_time_column`), when the body has it and no feature has
its name, is read too: a CSV cell as a number where it reads as one (epoch seconds), else as text
(ISO-8601); a Parquet column of numbers, text, timestamps or dates, a timestamp or date given to the
event-time reader as seconds since 1970 (a timestamp without a time zone is UTC).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from appliance.contracts.features import NUMERIC, Feature
from appliance.errors import InvalidRequest
from appliance.http import parquet_pages
from appliance.http.json_body import check_text

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (JSON, CSV, PARQUET)
MAX_PARQUET_BYTES = 16 * 1024 * 1024  # decompressed column data of one Parquet body
MAX_CSV_COLUMNS = 16_384  # a header of a megabyte of commas names half a million columns, each costing time
# What pandas.read_csv reads as missing by default (its documented `na_values`).
CSV_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                         "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def media_type(header: str | None) -> str:
    """The body's media type, checked as MLflow's server checks it (no header: JSON)."""
    if header is None or not header.strip():
        return JSON
    mime, *parameters = [part.strip() for part in header.split(";")]
    values = {key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in parameters if p)}
    if values.get("charset", "utf-8").strip('"').lower() != "utf-8":
        raise _unsupported("the scoring server only reads UTF-8")
    unknown = sorted(set(values) - {"charset"})
    if unknown:
        raise _unsupported(f"unrecognised content type parameters: {', '.join(unknown)}")
    if mime.lower() not in CONTENT_TYPES:
        raise _unsupported(f"content type '{mime[:80]}' is not one of {', '.join(CONTENT_TYPES)}")
    return mime.lower()


def _unsupported(problem: str) -> InvalidRequest:
    return InvalidRequest(problem, [{"field": "Content-Type", "problem": problem, "kind": "unsupported_media_type"}],
                          status=415, reason="unsupported_media_type")


def csv_columns(body: bytes, features: list[Feature], max_rows: int, event_column: str = "") -> dict[str, list[Any]]:
    """Every column of a CSV body by its header name (duplicates renamed `name.1` as pandas does), feature
    cells typed as the model reads them, event-time cells as numbers where they are; at most `max_rows` + 1
    rows are read (the limit is then refused)."""
    text = _utf8(body)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise _bad_csv("the body is empty; send a header line and at least one row")
        names = _header_names(header)
        rows = _rows(reader, len(names), max_rows)
    except csv.Error as e:
        raise _bad_csv(f"not readable as CSV: {e}") from e
    kinds = {f.name: f.kind for f in features}
    if event_column and event_column not in kinds:
        kinds[event_column] = NUMERIC  # a number where the cell is one (epoch seconds), else its text
    return {name: [_cell(row[j] if j < len(row) else "", kinds.get(name)) for row in rows]
            for j, name in enumerate(names)}


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad_csv(f"the body is not valid UTF-8: {e}") from e


def _header_names(header: list[str]) -> list[str]:
    """Column names as pandas gives them: an empty one is `Unnamed: N`, a repeated one gets `.1`, `.2`, ...

    Linear in the number of columns (a set of names taken, and each repeated name's next suffix kept), since
    a header of a megabyte of commas or of one name repeated comes from any client."""
    if len(header) > MAX_CSV_COLUMNS:
        problem = f"the header names {len(header)} columns; at most {MAX_CSV_COLUMNS}"
        raise InvalidRequest(f"the CSV body: {problem}", [
            {"field": "(body)", "problem": problem, "kind": "too_many_columns"}], status=413, reason="too_many_columns")
    names: list[str] = []
    taken: set[str] = set()
    suffixes: dict[str, int] = {}
    for position, raw in enumerate(header):
        check_text(raw, f"csv header column {position + 1}")
        name = base = raw or f"Unnamed: {position}"
        while name in taken:
            suffixes[base] = suffixes.get(base, 0) + 1
            name = f"{base}.{suffixes[base]}"
        names.append(name)
        taken.add(name)
    if not names:
        raise _bad_csv("the header line names no columns")
    return names


def _rows(reader: Any, width: int, max_rows: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in reader:
        if not row:  # a blank line, which pandas skips
            continue
        if len(row) > width:
            raise _bad_csv(f"line {reader.line_num} has {len(row)} fields; the header names {width}")
        rows.append(row)
        if len(rows) > max_rows:
            break
    if not rows:
        raise _bad_csv("the body has a header but no rows")
    return rows


def _cell(text: str, kind: str | None) -> Any:
    """A cell as pandas reads it for the feature: missing, a number (numeric), or the text itself. Text that
    is no number is kept, so the contract check names it with its row."""
    if text in CSV_MISSING:
        return None
    if kind != NUMERIC:
        return text
    try:
        return float(text) if "_" not in text else text  # Python reads `1_000`; pandas does not
    except ValueError:
        return text


def _bad_csv(problem: str) -> InvalidRequest:
    return InvalidRequest(f"the CSV body: {problem}", [{"field": "(body)", "problem": problem, "kind": "invalid_csv"}],
                          reason="invalid_csv")


def parquet_columns(body: bytes, features: list[Feature], max_rows: int,
                    event_column: str = "") -> dict[str, list[Any]]:
    """Every column of a Parquet body by name: the model's features and the event-time column with their
    values, the others (which the model's policy refuses or ignores) without reading them. Sizes are
    checked on the footer first."""
    parquet = _open_parquet(body)
    names = parquet.schema_arrow.names
    if len(set(names)) != len(names):
        raise _bad_parquet("the file has two columns of the same name")
    rows = _checked_rows(parquet, max_rows)
    wanted = [f.name for f in features if f.name in names]
    event = event_column if event_column in names and event_column not in wanted else ""
    _check_types(parquet, wanted)
    _check_event_type(parquet, event)
    read = [*wanted, event] if event else wanted
    _check_size(body, parquet, read)
    table = _read(body, parquet, read, rows) if read else None
    if table is not None:
        _check_expanded(table)
    columns: dict[str, list[Any]] = {name: [] for name in names}  # not a feature: named, never read
    for name in read:
        columns[name] = _values(table.column(name)) if table is not None else []
        for row, value in enumerate(columns[name]):
            if isinstance(value, str):
                check_text(value, f"parquet[{row}].{name}")
    return columns


def _check_event_type(parquet: Any, event: str) -> None:
    """The event-time column holds numbers, text, timestamps or dates (or only nulls)."""
    import pyarrow as pa

    if not event:
        return
    kind = parquet.schema_arrow.field(event).type
    if not (_plain(kind) or pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        raise InvalidRequest(f"parquet column {event!r} holds {str(kind)[:80]}, not event times", [
            {"field": f"parquet.{event}", "problem": f"type {str(kind)[:80]}; send timestamps, dates, ISO-8601 text "
             "or epoch seconds", "kind": "wrong_type"}])


def _values(column: Any) -> list[Any]:
    """A column's values as Python values; timestamps and dates as seconds since 1970 (naive ones read as UTC),
    counted in whole microseconds, so no date beyond Python's years is ever made."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        micros = pc.cast(pc.cast(column, pa.timestamp("us", kind.tz), safe=False), pa.int64())
        return [None if m is None else m / 1e6 for m in micros.to_pylist()]
    if pa.types.is_date(kind):
        days = pc.cast(pc.cast(column, pa.date32()), pa.int32())
        return [None if d is None else d * 86400 for d in days.to_pylist()]
    return list(column.to_pylist())


def _open_parquet(body: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(pa.BufferReader(body), thrift_string_size_limit=len(body) + 1,
                              thrift_container_size_limit=max(len(body), 1000))
    except (pa.ArrowException, OSError, ValueError, EOFError) as e:
        raise _bad_parquet(f"not a readable Parquet file: {e}") from e


def _checked_rows(parquet: Any, max_rows: int) -> int:
    metadata = parquet.metadata
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    claimed = max([metadata.num_rows, sum(groups)])
    if any(count < 0 for count in groups) or metadata.num_rows < 0:
        raise _bad_parquet("the file's footer claims a negative row count")
    if claimed > max_rows:
        raise InvalidRequest(f"the Parquet body holds {claimed} rows; the limit is {max_rows} per request", [
            {"field": "(body)", "problem": f"{claimed} rows; at most {max_rows}", "kind": "too_many_rows"}],
            status=413, reason="too_many_rows")
    if claimed == 0:
        raise _bad_parquet("the file has no rows")
    return int(claimed)


def _check_types(parquet: Any, wanted: list[str]) -> None:
    """A feature's column holds numbers, booleans or text (or only nulls); any other type (nested, dates,
    times, durations, decimals, extension types) is refused by name before reading: no feature takes
    one, and turning them into Python values can fail (a date past year 9999, an unknown time zone)."""
    schema = parquet.schema_arrow
    other = [n for n in wanted if not _plain(schema.field(n).type)]
    if other:
        raise InvalidRequest(f"parquet columns {other} hold values that are not numbers, booleans or text", [
            {"field": f"parquet.{n}", "problem": f"type {str(schema.field(n).type)[:80]}; send numbers, booleans "
             "or text", "kind": "wrong_type"} for n in other])


def _plain(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
                or pa.types.is_null(kind) or kind in _text_types())


def _check_size(body: bytes, parquet: Any, wanted: list[str]) -> None:
    """The feature columns' decompressed size, as the footer claims it and as their page headers (which
    decide what Arrow allocates) give it: either over MAX_PARQUET_BYTES is refused before any page is read."""
    metadata = parquet.metadata
    positions = [i for i in range(metadata.num_columns) if metadata.schema.column(i).path.split(".")[0] in wanted]
    total = sum(max(0, metadata.row_group(g).column(i).total_uncompressed_size)
                for g in range(metadata.num_row_groups) for i in positions)
    if total > MAX_PARQUET_BYTES:
        raise _too_large(f"its feature columns decompress to {total} bytes")
    pages = parquet_pages.declared_size(body, metadata, positions)
    if pages is None:
        raise _bad_parquet("its column chunks overlap one another")
    if pages > MAX_PARQUET_BYTES:
        raise _too_large(f"its feature columns' pages decompress to {pages} bytes")


def _read(body: bytes, parquet: Any, wanted: list[str], rows: int) -> Any:
    """The feature columns; text stays dictionary-encoded, so a long value repeated on every row is
    counted (`_check_expanded`) before it is copied once per row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet.schema_arrow
    text = [n for n in wanted if schema.field(n).type in _text_types()]
    try:
        table = pq.ParquetFile(pa.BufferReader(body), read_dictionary=text, thrift_string_size_limit=len(body) + 1,
                               thrift_container_size_limit=max(len(body), 1000)).read(
            columns=wanted, use_threads=False, use_pandas_metadata=False)
    except (pa.ArrowException, OSError, ValueError, EOFError) as e:
        raise _bad_parquet(f"its data cannot be read: {e}") from e
    if table.num_rows != rows:
        raise _bad_parquet(f"its footer claims {rows} rows but its columns hold {table.num_rows}")
    return table


def _check_expanded(table: Any) -> None:
    """Dictionary-encoded text: the bytes its rows expand to, counted without expanding them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in table.columns:
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                lengths = pc.binary_length(chunk.dictionary).take(chunk.indices)
                total += int(pc.sum(lengths).as_py() or 0)
    if total > MAX_PARQUET_BYTES:
        raise _too_large(f"its text columns expand to {total} bytes")


def _text_types() -> tuple[Any, ...]:
    import pyarrow as pa

    return (pa.string(), pa.large_string(), pa.binary(), pa.large_binary())


def _too_large(problem: str) -> InvalidRequest:
    limit = f"{problem}; the limit is {MAX_PARQUET_BYTES} bytes"
    return InvalidRequest(f"the Parquet body: {limit}", [{"field": "(body)", "problem": limit, "kind": "too_large"}],
                          status=413, reason="too_large")


def _bad_parquet(problem: str) -> InvalidRequest:
    return InvalidRequest(f"the Parquet body: {problem}", [
        {"field": "(body)", "problem": problem, "kind": "invalid_parquet"}], reason="invalid_parquet")
