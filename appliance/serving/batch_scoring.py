"""`vigil score NAME --input FILE|--query SQL --output FILE`: score a file or a query with a version.

The source is first copied by DuckDB to a Parquet file (streaming, any size), then read in chunks
of `CHUNK_ROWS`, so memory stays bounded. Every row is checked against the version's contract as the
scoring API checks a request — numbers must be numbers and finite, categories and ranges follow the
model's serving policy (reject, or accept and flag) — and rows that fail go to the rejects file with
their reasons, never dropped or coerced. Accepted rows are scored and written with the batch id, their
input row number, model, version, prediction and score; they are logged in `prediction_log` (route
and API `batch`, request id = the batch id, row index = the input row number) with their inputs — each
chunk written to Parquet with polars and read by DuckDB, so no row passes through Python objects — so
drift, outcomes and "which version scored this" work as for real-time traffic. The batch is audited.

Event time: the column named by `--event-time-column` (else by the model's `serving.event_time_column`)
gives each row's event time, logged in `prediction_log.event_time`, so a historical file is monitored
by when its rows happened (`vigil monitor run --from/--to`, `vigil history`). It may hold dates or
timestamps, an integer year or a year-month (`core.time_columns`), ISO-8601 text or epoch seconds
(`core.event_times`); a value that is none of these refuses its row, with the reason, and an empty
cell leaves the row without one. A column named on the command line must be in the input; the
configured one is used when the input has it.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import nullcontext
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.access.output_paths import new_file, require_absent
from appliance.clock import utc_now
from appliance.contracts import rules
from appliance.core import event_times
from appliance.core.answers import answers
from appliance.core.time_columns import as_timestamps
from appliance.contracts.contract import CategoricalColumn, Contract, NumericColumn
from appliance.contracts.features import NUMERIC, Feature, features_from_json, model_input
from appliance.errors import ScoringError
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q

CHUNK_ROWS = 50_000
EVENT_TIME = "_event_time"  # a row's event time while it is checked and logged; not in the output file


def _reasons(frame: pl.DataFrame, features: list[Feature], contract: Contract, policy: rules.Policy) -> pl.DataFrame:
    """`frame` with `_reject` (list of reasons that refuse the row) and `_flags` (accepted problems), by the
    contract's rules (`contracts.rules`) as the scoring API applies them; NaN is refused, as in a request."""
    rejects: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    for feature in features:
        spec = contract.columns.get(feature.name) or _unbounded(feature)
        column = frame[feature.name]
        if feature.name in _text_numbers(frame, features):  # one cell that is no number made the column text
            column = _as_numbers(column)
            unreadable = frame[feature.name].is_not_null() & column.is_null()
            rejects.append(pl.when(pl.lit(unreadable)).then(
                pl.lit(rules.reason(rules.WRONG_TYPE, feature.name, feature.kind))))
        for broken in rules.column_problems(column, spec, nan_is_missing=False):
            reason = pl.when(pl.lit(pl.Series(broken.rows))).then(
                pl.lit(rules.reason(broken.kind, feature.name, feature.kind)))
            (rejects if rules.refuses(broken.kind, policy) else flags).append(reason)
    empty = pl.lit([], dtype=pl.List(pl.String))
    return frame.with_columns(
        (pl.concat_list(rejects).list.drop_nulls() if rejects else empty).alias("_reject"),
        (pl.concat_list(flags).list.drop_nulls() if flags else empty).alias("_flags"))


def _text_numbers(frame: pl.DataFrame, features: list[Feature]) -> list[str]:
    """The numeric features a file holds as text (a CSV column with a cell such as "n/a" is read as text):
    their values are read as numbers row by row, so only the rows whose value is no number are refused."""
    return [f.name for f in features if f.kind == NUMERIC and frame.schema.get(f.name) == pl.String]


def _as_numbers(column: pl.Series) -> pl.Series:
    """A text column's values as numbers; a value that is no number becomes missing."""
    return column.str.strip_chars().cast(pl.Float64, strict=False)


def _unbounded(feature: Feature) -> NumericColumn | CategoricalColumn:
    """A feature the contract does not list: its type is checked, nothing else."""
    return NumericColumn() if feature.kind == NUMERIC else CategoricalColumn(any_category=True)


def score_batch(ctx: Any, model_name: str, *, input_path: str | None, query: str | None, output: Path,
                rejects_path: Path | None, version: int | None, actor: str, write_lock: Any = None,
                base_dir: Path | None = None, replace: bool = True,
                event_time_column: str | None = None) -> dict[str, Any]:
    """Score a file or query with a version (the champion by default); see the module's text.

    `write_lock`, when given (the daemon's jobs), is held for each chunk's commit only, so the daemon's other
    writers wait for one chunk at most. A relative input path is read from `base_dir` (default: the
    working directory). Without `replace` (files a caller names), an existing output or rejects file is
    refused before anything is scored; with it (a scheduled job's own output path), it is replaced.
    """
    from appliance.registry.contracts import current_contract
    from appliance.registry.loading import load_version_model
    from appliance.registry.versions import servable_version
    from appliance.access.output_paths import input_path as checked_input
    from appliance.access.output_paths import read_roots
    from appliance.store.extraction import extract_to_parquet
    from appliance.training.evaluation import scores_of

    locked = write_lock if write_lock is not None else nullcontext()
    if (input_path is None) == (query is None):
        raise ScoringError("give exactly one of --input FILE or --query SQL")
    number = version if version is not None else q.aliases(ctx.store, model_name).get("champion")
    if number is None:
        raise ScoringError(f"model '{model_name}' has no champion; pass --version N")
    row = servable_version(ctx.store, model_name, int(number))
    features = features_from_json(row["features"])
    _, contract = current_contract(ctx.store, model_name, int(number))
    policy = ctx.config.serving.policy_for(model_name)
    model = load_version_model(ctx, row)
    output = output.resolve()
    rejects_path = (rejects_path or output.with_name(output.stem + ".rejects.parquet")).resolve()
    if not replace:
        require_absent(output)
        require_absent(rejects_path)
    batch_id = f"batch-{uuid.uuid4().hex[:16]}"
    scratch = Path(tempfile.mkdtemp(prefix="vigil-score-"))
    began = time.perf_counter()
    try:
        source = scratch / "source.parquet"
        folder = base_dir or Path.cwd()
        if input_path is not None:  # through the daemon, never a file of the home
            checked_input(ctx.home.root, folder / input_path)
        total = extract_to_parquet(path=input_path, query=query, base_dir=folder, dest=source,
                                   read_roots=read_roots(ctx.home.root, folder))
        names = pl.scan_parquet(source).collect_schema().names()
        missing = [f.name for f in features if f.name not in names]
        if missing:
            raise ScoringError(rules.missing_columns(missing, int(number)))
        event_column = _event_column(ctx, model_name, event_time_column, names)
        with locked:
            pq.ensure_inputs_table(ctx.store, model_name, features)
        scored = rejected = 0
        for part, offset in enumerate(range(0, total, CHUNK_ROWS)):
            chunk = pl.scan_parquet(source).slice(offset, CHUNK_ROWS).collect().with_row_index("input_row", offset)
            checked = _with_event_times(_reasons(chunk, features, contract, policy), event_column)
            bad = checked.filter(pl.col("_reject").list.len() > 0)
            good = checked.filter(pl.col("_reject").list.len() == 0)
            if bad.height:
                rejects_file = scratch / f"rejects-{part:06d}.parquet"
                bad.drop("_flags", EVENT_TIME).rename({"_reject": "reasons"}).write_parquet(rejects_file)
            rejected += bad.height
            if not good.height:
                continue
            started = time.perf_counter()
            good = good.with_columns(_as_numbers(good[name]) for name in _text_numbers(good, features))
            inputs = model_input(good, features)
            answer = _Answer(row, scores_of(model, row["task"], inputs))
            latency = (time.perf_counter() - started) * 1000 / good.height
            out = good.drop("_reject", "_flags", EVENT_TIME).with_columns(
                pl.lit(batch_id).alias("batch_id"), pl.lit(model_name).alias("model"), pl.lit(int(number)).alias("version"),
                *answer.output_columns())
            out.write_parquet(scratch / f"scored-{part:06d}.parquet")
            log_file, inputs_file = scratch / f"log-{part:06d}.parquet", scratch / f"inputs-{part:06d}.parquet"
            _log_frame(good, batch_id, model_name, int(number), answer, latency).write_parquet(log_file)
            inputs.select(pl.lit(batch_id).alias("request_id"), good["input_row"].cast(pl.Int32).alias("row_index"),
                          pl.all()).write_parquet(inputs_file)
            with locked, ctx.store.transaction():  # DuckDB reads the files: no row passes through Python
                pq.insert_log_file(ctx.store, log_file)
                pq.insert_inputs_file(ctx.store, model_name, [f.name for f in features], inputs_file)
            log_file.unlink()
            inputs_file.unlink()
            scored += good.height
        _combine(scratch, "scored-*.parquet", output, replace)
        _combine(scratch, "rejects-*.parquet", rejects_path, replace)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - began
    result = {"batch_id": batch_id, "model": model_name, "version": int(number), "rows": total, "scored": scored,
              "event_time_column": event_column or None,
              "rejected": rejected, "output": str(output), "rejects": str(rejects_path) if rejected else None,
              "seconds": seconds, "rows_per_s": total / seconds if seconds else None}
    with locked, ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "batch.score", model_name, int(number),
                       {"source": input_path or query, **result}, subject=f"batch:{batch_id}",
                       after={"scored": scored, "rejected": rejected, "output": str(output)})
    return result


class _Answer:
    """A chunk's answers, as the output file shows them and as the prediction log keeps them.

    Binary: prediction 1/0 at the version's threshold, score the positive class's probability.
    Regression: the prediction, no score. Multiclass: the output's prediction is the class name, and the
    log's its position in the version's classes (as the scoring API logs it); score is that class's
    probability and `probabilities` every class's, in the version's class order."""

    def __init__(self, row: dict[str, Any], scores: np.ndarray) -> None:
        self.task = row["task"]
        self.classes = list(row.get("classes") or [])
        found = answers(self.task, scores, row["threshold"])  # the portable plan answers through the same
        self.predictions, self.scores, self.probabilities = found.predictions, found.scores, found.probabilities

    def _score(self) -> pl.Series:
        return pl.Series("score", self.scores if self.scores is not None else [None] * len(self.predictions),
                         dtype=pl.Float64)

    def _probabilities(self) -> pl.Series:
        values = self.probabilities.tolist() if self.probabilities is not None else [None] * len(self.predictions)
        return pl.Series("probabilities", values, dtype=pl.List(pl.Float64))

    def output_columns(self) -> list[pl.Series]:
        if self.task != "multiclass":
            return [pl.Series("prediction", self.predictions), self._score()]
        names = [self.classes[int(i)] for i in self.predictions]
        return [pl.Series("prediction", names, dtype=pl.String), self._score(), self._probabilities()]

    def log_columns(self) -> list[pl.Series]:
        return [pl.Series("prediction", self.predictions, dtype=pl.Float64), self._score(), self._probabilities()]


def _event_column(ctx: Any, model_name: str, named: str | None, columns: list[str]) -> str:
    """The input column holding event times: the one named (it must exist), else the model's configured
    one when the input has it, else none ("")."""
    if named:
        if named not in columns:
            raise ScoringError(f"the input has no column {named} (--event-time-column); nothing scored")
        return named
    configured = ctx.config.serving.policy_for(model_name).event_time_column
    return configured if configured and configured in columns else ""


def _with_event_times(checked: pl.DataFrame, column: str) -> pl.DataFrame:
    """`checked` with `_event_time` (naive UTC, null: none); a value that is no time refuses its row."""
    if not column:
        return checked.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(EVENT_TIME))
    found = as_timestamps(checked[column])  # a year or year-month first; then the scoring doors' rule and bounds
    times, bad = event_times.parse_column(found[0] if found is not None else checked[column])
    reason = pl.when(pl.lit(pl.Series(bad))).then(pl.lit([f"{column}: not an event time ({event_times.EXPECTED})"]))
    return checked.with_columns(times.alias(EVENT_TIME), pl.concat_list(
        pl.col("_reject"), reason.otherwise(pl.lit([], dtype=pl.List(pl.String)))).alias("_reject"))


def _log_frame(good: pl.DataFrame, batch_id: str, model_name: str, version: int, answer: _Answer,
               latency: float) -> pl.DataFrame:
    """The chunk's prediction-log rows (route and API `batch`, request id = batch id, row = input row)."""
    prediction, score, probabilities = answer.log_columns()
    return good.select(
        pl.lit(batch_id).alias("request_id"), pl.col("input_row").cast(pl.Int32).alias("row_index"),
        pl.lit(utc_now()).alias("logged_at"), pl.lit(model_name).alias("model_name"),
        pl.lit(version, pl.Int32).alias("version"), pl.lit("batch").alias("route"), pl.lit("batch").alias("api"),
        prediction, score, pl.lit(latency).alias("latency_ms"), pl.col("_flags").alias("flags"),
        pl.lit(False).alias("audit_sample"), probabilities, pl.col(EVENT_TIME).alias("event_time"))


def _combine(scratch: Path, pattern: str, target: Path, replace: bool) -> None:
    """Concatenate the chunk files (streaming, in DuckDB) into `target`, written whole or not at all;
    no chunk, no file."""
    from appliance.store.extraction import concat_parquet

    if any(scratch.glob(pattern)):
        with new_file(target, replace=replace) as staged:
            concat_parquet(str(scratch / pattern), staged)
