"""A model's whole history from one file: `vigil history NAME --input FILE [--labels FILE] --chunk 1M`.

The historical file is scored as a batch (`vigil score`: route `batch`, each row's event time from
the event-time column), its labels are recorded as feedback (from a column of the same file, or from
a label file joined by a key column or by row position) through the one label door
(`serving/labels.py`: checked against the model's classes), and the span of event times the batch
covers is checked chunk by chunk as `vigil monitor run --from --to --chunk` does: drift, data quality
and realized performance per period, each chunk a stored monitor run. Chunks of the past are
history and page no one (appliance/monitoring/past_periods.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from appliance.access.output_paths import input_path, output_path
from appliance.clock import utc_now
from appliance.contracts.categories import category_text
from appliance.core.periods import Period
from appliance.errors import MonitoringError
from appliance.home.context import AppContext
from appliance.monitoring.chunking import ChunkSpec, add_units, parse_chunk, unit_start
from appliance.monitoring.past_periods import check_period, chunk_row
from appliance.store import period_queries as ptq
from appliance.store import registry_queries as aq

EXPORTS = "exports"
LABEL_COLUMN = "label"


def history(ctx: AppContext, model_name: str, *, input_file: str, output: str | None, labels_file: str | None,
            label_column: str | None, key: str | None, event_time_column: str | None, chunk: str,
            version: int | None, actor: str) -> dict[str, Any]:
    """Score the file, record its labels, check every chunk of the event-time span it covers."""
    from appliance.serving.batch_scoring import score_batch

    spec = parse_chunk(chunk)
    if key and not labels_file:
        raise MonitoringError("--key joins a label file to the input: give --labels FILE too")
    target = output_path(ctx, output) if output else _default_output(ctx, model_name)
    scored = score_batch(ctx, model_name, input_path=input_file, query=None, output=target, rejects_path=None,
                         version=version, actor=actor, replace=False, event_time_column=event_time_column)
    label_counts = _record_labels(ctx, model_name, scored, input_file, labels_file, label_column, key, actor) \
        if labels_file or label_column else {}
    first, last = ptq.request_time_range(ctx.store, [scored["batch_id"]], "event")
    if first is None or last is None:
        raise MonitoringError(f"no row of {input_file} was scored; nothing to monitor (see {scored['rejects']})")
    checks = check_period(ctx, model_name, span_of(first, last, spec), spec, actor=actor)
    return {"model": model_name, "batch": scored, "labels": label_counts, "chunk": str(spec),
            "from": first, "to": last, "checks": checks, "chunks": [chunk_row(c) for c in checks]}


def span_of(first: datetime, last: datetime, spec: ChunkSpec) -> Period:
    """The event-time period a batch covers: whole calendar units for period chunks, else first .. last."""
    if spec.kind == "period":
        end_unit = unit_start(last, spec.unit)
        return Period(unit_start(first, spec.unit), add_units(end_unit, spec.unit, 1), "event")
    return Period(first, last + timedelta(microseconds=1), "event")


def _default_output(ctx: AppContext, model_name: str) -> Path:
    folder = ctx.home.root / EXPORTS
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{model_name}-history-{utc_now():%Y-%m-%dT%H%M%S}.parquet"


def _record_labels(ctx: AppContext, model_name: str, scored: dict[str, Any], input_file: str,
                   labels_file: str | None, label_column: str | None, key: str | None,
                   actor: str) -> dict[str, int]:
    """Record the labels of the scored rows: label `i` labels input row `i` (a column of the input, or a
    label file of as many rows), or the input row with the same `key`; audited as `labels.load` under
    `actor` in the same transaction, as a label file loaded on its own is."""
    from appliance.serving import labels
    from appliance.serving.labels import ClassBook, LabelsRefused

    column = label_column or LABEL_COLUMN
    found = _labels_by_row(ctx, input_file, int(scored["rows"]), labels_file, column, key)
    answered = pl.read_parquet(scored["output"], columns=["input_row"]) if scored["scored"] else None
    if answered is None:
        return {}
    found = found.join(answered.rename({"input_row": "row"}).with_columns(pl.col("row").cast(pl.Int64)),
                       on="row", how="semi").filter(pl.col("value").is_not_null())
    values = found["value"].to_list()
    batch = labels.as_batch({
        "index": labels.positions(found.height), "request_id": [scored["batch_id"]] * found.height,
        "row_index": found["row"], "label_text": [category_text(v) for v in values],
        "label_number": [float(v) if type(v) in (int, float) else None for v in values],
        "label_shown": [category_text(v) or str(v) for v in values], "event_time": [None] * found.height})
    def audit(statuses: pl.DataFrame) -> None:
        aq.insert_audit(ctx.store, utc_now(), actor, "labels.load", model_name, None,
                        {"file": labels_file or input_file, "column": None if labels_file else column, "key": key,
                         "labels": found.height, "batch_id": scored["batch_id"]},
                        subject=f"labels:{model_name}", after=labels.counts(statuses))

    try:
        statuses = labels.record(ctx.store, ClassBook(ctx.home.root), model_name, batch, utc_now(), audit)
    except LabelsRefused as e:
        first = e.bad[0]
        raise MonitoringError(f"{len(e.bad)} label(s) refused, none recorded; the first, of input row "
                              f"{int(found['row'][first.index])}: {first.problem}") from None
    return labels.counts(statuses)


def _labels_by_row(ctx: AppContext, input_file: str, rows: int, labels_file: str | None, column: str,
                   key: str | None) -> pl.DataFrame:
    """(row, value): each input row's label."""
    from appliance.training.frames import read_frame

    source = read_frame(input_path(ctx.home.root, labels_file or input_file))
    if column not in source.columns:
        raise MonitoringError(f"{labels_file or input_file} has no label column '{column}' (--label-column)")
    if key is None:
        if labels_file is not None and source.height != rows:
            raise MonitoringError(f"{labels_file} has {source.height} rows and the input {rows}: join them by a "
                                  "column both have (--key COL)")
        return source.select(pl.int_range(0, source.height, dtype=pl.Int64).alias("row"), pl.col(column).alias("value"))
    inputs = read_frame(input_path(ctx.home.root, input_file))
    for name, frame in (("the input", inputs), (labels_file, source)):
        if key not in frame.columns:
            raise MonitoringError(f"{name} has no key column '{key}' (--key)")
    if source[key].is_duplicated().any():
        raise MonitoringError(f"{labels_file}: key '{key}' names a row more than once; one label per key")
    keyed = inputs.select(pl.int_range(0, inputs.height, dtype=pl.Int64).alias("row"), pl.col(key))
    return keyed.join(source.select(pl.col(key), pl.col(column).alias("value")), on=key, how="inner") \
        .select("row", "value")

