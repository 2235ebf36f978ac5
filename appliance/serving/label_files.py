"""`vigil labels load FILE`: a Parquet or CSV file of labels, joined to the answered rows and recorded in
one transaction by the rules of `serving/labels.py` (the feedback API's rules).

The file names each prediction either by `request_id` (and `row_index`, default 0) or by a business key:
a column named like the model's input column `monitoring.models.NAME.label_key` (or `--key COLUMN`),
matched against the inputs the model answered; a key held by several answered rows (a request retried)
labels each of them. Its `label` column holds the outcome, an optional `event_time` column when it was
observed. A file with any bad label loads nothing: the error counts them and names the first.
Loading the same file again changes nothing (every label `unchanged`).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from appliance.clock import utc_now
from appliance.core import event_times
from appliance.errors import LabelError
from appliance.serving import labels
from appliance.serving.labels import BadLabel, ClassBook, LabelsRefused
from appliance.store import label_queries as lq
from appliance.store import registry_queries as q

BY_REQUEST = "request_id"
SUFFIXES = (".parquet", ".pq", ".csv")
SHOWN_BAD = 3  # bad labels named in the one-line error


def load_labels(ctx: Any, model_name: str | None, path: Path, key: str | None = None,
                actor: str = "unknown") -> dict[str, Any]:
    """Record the file's labels for the model (by default the one model that answered the file's requests),
    audited under `actor` in the same transaction; the counts per status and the rate."""
    began = time.perf_counter()
    frame: pl.DataFrame | None = None
    if model_name is None:
        frame = read_file(path, key or BY_REQUEST)
        model_name = _answering_model(ctx, frame, key or BY_REQUEST, path)
    read_by = key or BY_REQUEST
    key = key or ctx.config.monitoring.bands_for(model_name).label_key or BY_REQUEST
    labels.model_task(ctx.store, model_name)
    if frame is None or key != read_by:
        frame = read_file(path, key)
    batch, unknown_keys = _batch(ctx, model_name, frame, key, path)
    counted: dict[str, int] = {}

    def audit(statuses: pl.DataFrame) -> None:
        counted.update(labels.counts(statuses), **({"unknown_key": unknown_keys} if unknown_keys else {}))
        q.insert_audit(ctx.store, utc_now(), actor, "labels.load", model_name, None,
                       {"file": str(path), "key": key, "labels": frame.height}, subject=f"labels:{model_name}",
                       after=counted)

    try:
        labels.record(ctx.store, ClassBook(ctx.home.root), model_name, batch, utc_now(), audit)
    except LabelsRefused as e:
        raise _refused(path, e.bad, batch) from None
    seconds = time.perf_counter() - began
    counts = counted
    return {"model": model_name, "file": str(path), "key": key, "labels": frame.height, "rows": batch.height,
            "counts": counts, "seconds": round(seconds, 3), "labels_per_s": round(frame.height / max(seconds, 1e-9))}


def _answering_model(ctx: Any, frame: pl.DataFrame, key: str, path: Path) -> str:
    """The one model that answered the file's requests; --model is needed otherwise."""
    if key != BY_REQUEST:
        raise LabelError("labels joined by a business key need --model NAME (the key is one of its input columns)")
    view = f"label_requests_{uuid.uuid4().hex}"
    with ctx.store.registered(view, labels.arrow(frame.select(pl.col(BY_REQUEST).cast(pl.String)))):
        models = lq.answering_models(ctx.store, view)
    if len(models) != 1:
        found = f"models {', '.join(models)}" if models else "no model (no request of the file was answered)"
        raise LabelError(f"{path.name}: its requests were answered by {found}; pass --model NAME")
    return models[0]


def read_file(path: Path, key: str) -> pl.DataFrame:
    """The file's label columns, checked: the key columns, `label`, and `event_time` when present."""
    if path.suffix.lower() not in SUFFIXES:
        raise LabelError(f"{path.name}: a label file is .parquet, .pq or .csv")
    if not path.is_file():
        raise LabelError(f"{path}: no such file")
    try:
        frame = pl.read_csv(path, infer_schema_length=10_000) if path.suffix.lower() == ".csv" else pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as e:
        raise LabelError(f"{path.name}: cannot be read as {path.suffix[1:]} ({str(e).splitlines()[0]})") from None
    needed = [key, "label"] if key != BY_REQUEST else [BY_REQUEST, "label"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise LabelError(f"{path.name}: no column {', '.join(missing)} (a label file has {' and '.join(needed)}, "
                         "optionally row_index and event_time)")
    wanted = [c for c in (*needed, "row_index", "event_time") if c in frame.columns]
    return frame.select(wanted)


def _batch(ctx: Any, model_name: str, frame: pl.DataFrame, key: str, path: Path) -> tuple[pl.DataFrame, int]:
    """The file as a label batch (`file_row`: its 1-based label), and how many keys matched no answered row."""
    numbered = frame.with_row_index("file_row", offset=1)
    _check_cells(numbered, key, path)
    if key == BY_REQUEST:
        located = numbered.with_columns(pl.col(BY_REQUEST).cast(pl.String),
                                        row_index=pl.col("row_index").cast(pl.Int64) if "row_index" in frame.columns
                                        else pl.lit(0, dtype=pl.Int64))
        unknown = 0
    else:
        located, unknown = _by_key(ctx, model_name, numbered, key)
    return _typed(located), unknown


def _check_cells(frame: pl.DataFrame, key: str, path: Path) -> None:
    """Missing keys or labels, negative row indexes and event times that are none refuse the file."""
    bad: list[tuple[int, str]] = []
    for column, problem in ((key, "has no " + key), ("label", "has no label")):
        bad += [(int(r), problem) for r in frame.filter(pl.col(column).is_null())["file_row"].head(SHOWN_BAD)]
    if "row_index" in frame.columns:
        rows = frame["row_index"]
        if not rows.dtype.is_integer():
            raise LabelError(f"{path.name}: row_index must be integers, not {rows.dtype}")
        bad += [(int(r), "has a negative row_index") for r in frame.filter(pl.col("row_index") < 0)["file_row"].head(3)]
    if "event_time" in frame.columns:
        _, wrong = event_times.parse_column(frame["event_time"])
        bad += [(int(r), f"has an event_time that is not {event_times.EXPECTED}")
                for r in frame["file_row"].filter(pl.Series(wrong)).head(SHOWN_BAD)]
    if bad:
        first = "; ".join(f"label {row} {problem}" for row, problem in sorted(bad)[:SHOWN_BAD])
        raise LabelError(f"{path.name}: bad labels, nothing loaded: {first}")


def _by_key(ctx: Any, model_name: str, frame: pl.DataFrame, key: str) -> tuple[pl.DataFrame, int]:
    sql_type = lq.key_column_type(ctx.store, model_name, key)
    if sql_type is None:
        raise LabelError(f"model '{model_name}' logs no input column '{key}' to join labels by (label_key, --key)")
    keyed = frame.select(pl.col("file_row").cast(pl.Int64).alias("index"), pl.col(key).cast(pl.String).alias("key"))
    view = f"label_keys_{uuid.uuid4().hex}"
    with ctx.store.registered(view, labels.arrow(keyed)):
        matched = lq.rows_by_key(ctx.store, model_name, view, key, sql_type)
    matched = matched.with_columns(pl.col("index").cast(pl.Int64).alias("file_row")).drop("index")
    located = matched.join(frame.drop(key).with_columns(pl.col("file_row").cast(pl.Int64)), on="file_row",
                           how="inner", maintain_order="left")
    unknown = frame.height - matched["file_row"].n_unique()
    return located, unknown


def _typed(located: pl.DataFrame) -> pl.DataFrame:
    """The located labels as BATCH columns (plus `file_row`), each label read by the category rule:
    booleans as true/false, integers as digits, text itself; numbers also as `label_number`. Built as
    column expressions, so a million labels cost a few column casts."""
    dtype = located.schema["label"]
    label = pl.col("label")
    text = label.cast(pl.String) if dtype in (pl.Boolean, pl.String) or dtype.is_integer() \
        else pl.lit(None, dtype=pl.String)
    number = label.cast(pl.Float64) if dtype.is_numeric() else pl.lit(None, dtype=pl.Float64)
    times = event_times.parse_column(located["event_time"])[0] if "event_time" in located.columns \
        else pl.lit(None, dtype=pl.Datetime("us"))
    batch = located.select(index=pl.int_range(pl.len(), dtype=pl.Int64), request_id=pl.col(BY_REQUEST),
                           row_index=pl.col("row_index").cast(pl.Int64), label_text=text, label_number=number,
                           label_shown=label.cast(pl.String), event_time=times,
                           file_row=pl.col("file_row").cast(pl.Int64))
    return batch.cast(labels.BATCH)  # type: ignore[arg-type]  # a plain dict of names and types


def _refused(path: Path, bad: list[BadLabel], batch: pl.DataFrame) -> LabelError:
    rows = batch["file_row"].to_numpy()
    first = "; ".join(f"label {int(rows[b.index])}: {b.problem}" for b in sorted(bad, key=lambda b: b.index)[:SHOWN_BAD])
    return LabelError(f"{path.name}: {len(bad)} bad label(s), nothing loaded; {first}")
