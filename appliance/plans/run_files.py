"""A cluster run's files: where its scored rows go, how each file is written, and the run's manifest.

A run scores an input with an exported plan (`load_plan`) somewhere other than the box, and leaves a
directory the box brings back with `vigil log import DIR`:

    DIR/manifest.json                                            the run: written last, when every part is done
    DIR/predictions/model=<partition value>/day=<UTC date>/part-<n>.parquet   answered rows
    DIR/rejects/model=<partition value>/day=<UTC date>/part-<n>.parquet       refused rows, with their reasons

The folders are the lake export's (`model=` holds `partition_value(model name)`, `day=` the run's UTC
date), so a reader of the lake reads a run's files the same way. A predictions file holds `input` (the
row's input columns as one struct, so no input column can meet an answer column or a partition's name:
flights have a `day`), `input_row` (the row's position in the whole input: the input files in the
manifest's order, rows in file order, as `vigil score` numbers one file), `run_id`, `model_name`,
`version`, `prediction`, `score`, `flags`; a rejects file `input`, `input_row`, `run_id`, `model_name`,
`version` and `reasons`. Each part file is written under a hidden name and renamed into
place, so a reader never sees half a file, and a part written twice (a retried task) replaces itself.

The manifest (JSON) names the run (`run_id`), the plan (model, version, `plan_sha256`, the package's
signing `key_id`), the input files with their rows, the row counts (`rows_in` = `rows_scored` +
`rows_rejected`) and every part file with its table, rows, bytes, sha256 and scoring seconds. Imports
check every file against it. Only the standard library and pyarrow are needed here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from appliance.core.lake_partitions import partition_value

KIND = "vigil-cluster-run"
FORMAT = 1
MANIFEST = "manifest.json"
PREDICTIONS, REJECTS = "predictions", "rejects"
TABLES = (PREDICTIONS, REJECTS)
ROW_COLUMN = "_vigil_row"  # the row's position in the whole input, carried beside the input's columns
RUN_ID = re.compile(r"run-[0-9a-f]{16}")
RECORD_FIELDS = ("table", "path", "rows", "bytes", "sha256", "seconds")


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True, slots=True)
class Part:
    """One written file of a run: its table, path relative to the run's directory, rows, size, sha256,
    and the seconds its rows took to score."""

    table: str
    path: str
    rows: int
    bytes: int
    sha256: str
    seconds: float


def folder(table: str, model: str, day: str) -> str:
    """A table's partition folder of a run, relative to its directory."""
    return f"{table}/model={partition_value(model)}/day={day}"


def input_offsets(files: Iterable[str | Path]) -> list[tuple[str, int, int]]:
    """(path, rows, first row's position in the whole input) of each input Parquet file, from its footer."""
    import pyarrow.parquet as pq

    found, offset = [], 0
    for path in files:
        rows = pq.read_metadata(str(path)).num_rows
        found.append((str(path), rows, offset))
        offset += rows
    return found


def score_part(plan: Any, batches: Iterable[Any], run_dir: str | Path, run_id: str, day: str,
               name: str) -> tuple[int, list[Part]]:
    """Score Arrow record batches (each with the input's columns and `_vigil_row`) with `plan` and write the
    answered rows to `predictions/.../<name>` and the refused to `rejects/.../<name>`: (rows read, parts
    written). What one cluster task does with its share of the input; the bench calls it directly."""
    writers: dict[str, _PartWriter] = {}
    rows_in = 0
    try:
        for batch in batches:
            rows_in += batch.num_rows
            started = time.perf_counter()
            split = _scored(plan, batch, run_id)
            seconds = time.perf_counter() - started
            for table, part in split.items():
                if part.num_rows:
                    if table not in writers:
                        writers[table] = _PartWriter(Path(run_dir), folder(table, plan.model, day), name, part.schema)
                    writers[table].write(part, seconds * part.num_rows / batch.num_rows)
        return rows_in, [writer.close() for writer in writers.values()]
    finally:
        for writer in writers.values():
            writer.abandon()


def _scored(plan: Any, batch: Any, run_id: str) -> dict[str, Any]:
    """The batch's rows scored, as the predictions and rejects tables' columns (the input's columns in the
    struct `input`, so no input column can meet an answer column or a partition's name)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.Table.from_batches([batch])
    inputs = table.drop_columns([ROW_COLUMN])
    answers = plan.score(inputs, with_inputs=False)
    rows = table.num_rows
    base = {"input": pa.StructArray.from_arrays([column.combine_chunks() for column in inputs.columns],
                                                fields=list(inputs.schema)),
            "input_row": table.column(ROW_COLUMN).cast(pa.int64()), "run_id": pa.array([run_id] * rows, pa.string()),
            "model_name": pa.array([plan.model] * rows, pa.string()),
            "version": pa.array([plan.version] * rows, pa.int64())}
    rejected = answers.column("rejected")
    out = {}
    for name, keep, answer in ((PREDICTIONS, pc.invert(rejected), ("prediction", "score", "flags")),
                               (REJECTS, rejected, ("reasons",))):
        whole = pa.table({**base, **{column: answers.column(column) for column in answer}})
        out[name] = whole.filter(keep)
    return out


def write_part(run_dir: str | Path, table: str, model: str, day: str, name: str, rows: Any, seconds: float) -> Part:
    """One whole part file of scored rows (a pyarrow Table of the table's columns), written as a task writes it."""
    writer = _PartWriter(Path(run_dir), folder(table, model, day), name, rows.schema)
    try:
        writer.write(rows, seconds)
        return writer.close()
    finally:
        writer.abandon()


class _PartWriter:
    """One part file, streamed under a hidden name and renamed into place when closed."""

    def __init__(self, run_dir: Path, relative_folder: str, name: str, schema: Any) -> None:
        import pyarrow.parquet as pq

        self.relative = f"{relative_folder}/{name}"
        self.target = run_dir / self.relative
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staged = self.target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.partial")
        self.writer = pq.ParquetWriter(str(self.staged), schema)
        self.rows = 0
        self.seconds = 0.0
        self.closed = False

    def write(self, rows: Any, seconds: float) -> None:
        self.writer.write_table(rows)
        self.rows += rows.num_rows
        self.seconds += seconds

    def close(self) -> Part:
        self.writer.close()
        digest, size = _sha256(self.staged)
        with open(self.staged, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.staged, self.target)
        self.closed = True
        table = self.relative.split("/", 1)[0]
        return Part(table, self.relative, self.rows, size, digest, round(self.seconds, 6))

    def abandon(self) -> None:
        if not self.closed:
            self.writer.close()
            self.staged.unlink(missing_ok=True)


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def manifest(run_id: str, plan: Any, inputs: list[tuple[str, int, int]], parts: Iterable[Part], started_at: str,
             finished_at: str) -> dict[str, Any]:
    """The run's manifest: what it scored with, what it read, what it wrote."""
    listed = sorted(parts, key=lambda part: part.path)
    scored = sum(p.rows for p in listed if p.table == PREDICTIONS)
    rejected = sum(p.rows for p in listed if p.table == REJECTS)
    return {"kind": KIND, "format": FORMAT, "run_id": run_id, "model": plan.model, "version": plan.version,
            "plan_sha256": plan.lineage["plan_sha256"], "key_id": plan.key_id, "started_at": started_at,
            "finished_at": finished_at, "inputs": [{"path": path, "rows": rows} for path, rows, _ in inputs],
            "rows_in": sum(rows for _, rows, _ in inputs), "rows_scored": scored, "rows_rejected": rejected,
            "files": [asdict(part) for part in listed]}


def write_manifest(run_dir: str | Path, value: dict[str, Any]) -> Path:
    """The manifest, written last and atomically (hidden name, fsync, rename): a run without it is unfinished."""
    target = Path(run_dir) / MANIFEST
    staged = target.with_name(f".{MANIFEST}.partial")
    with open(staged, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, target)
    return target


def parts_of(records: Iterable[dict[str, Any]]) -> Iterator[Part]:
    """Parts from the records cluster tasks return (dicts of RECORD_FIELDS)."""
    for record in records:
        yield Part(str(record["table"]), str(record["path"]), int(record["rows"]), int(record["bytes"]),
                   str(record["sha256"]), float(record["seconds"]))


def score_locally(plan: Any, inputs: list[str | Path], run_dir: str | Path, *, run_id: str | None = None,
                  batch_rows: int = 65_536, rows_per_part: int = 1_000_000) -> dict[str, Any]:
    """A run made on this machine, without a cluster: the same files and manifest a Spark run writes (the
    tests and `bench/log_import.py` use it; so can a machine that scores a batch with NumPy alone)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    run_id = run_id or new_run_id()
    started = dt.datetime.now(dt.timezone.utc)
    files = input_offsets(str(Path(p).resolve()) for p in inputs)
    parts: list[Part] = []
    number = 0
    for path, _, first in files:
        batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
        position = first
        while True:
            chunk = _take(batches, rows_per_part)
            if not chunk:
                break
            numbered = []
            for batch in chunk:
                rows = pa.array(range(position, position + batch.num_rows), pa.int64())
                numbered.append(pa.RecordBatch.from_arrays([*batch.columns, rows],
                                                           names=[*batch.schema.names, ROW_COLUMN]))
                position += batch.num_rows
            parts.extend(score_part(plan, numbered, run_dir, run_id, started.date().isoformat(),
                                    f"part-{number:05d}.parquet")[1])
            number += 1
    finished = dt.datetime.now(dt.timezone.utc).isoformat()
    found = manifest(run_id, plan, files, parts, started.isoformat(), finished)
    write_manifest(run_dir, found)
    return found


def _take(batches: Iterator[Any], rows: int) -> list[Any]:
    taken, count = [], 0
    for batch in batches:
        taken.append(batch)
        count += batch.num_rows
        if count >= rows:
            break
    return taken
