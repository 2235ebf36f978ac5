"""Score Parquet files on Spark with an exported plan: a run directory `vigil log import` brings home.

    from appliance.plans.spark_recipe import score_on_spark

    manifest = score_on_spark(spark, "/srv/plans/flight_delay-v2", trusted_key="moMj...=",
                              inputs=["/data/day/part-0.parquet", "/data/day/part-1.parquet"],
                              run_dir="/data/scored/run-1")

The driver checks the package (`load_plan`), numbers the input's rows from the files' footers, and
broadcasts the package's bytes; each task loads the plan once, scores its share of the rows with
`mapInArrow` and writes its own part files (`run_files.score_part`), returning only what it wrote.
The driver then writes the manifest, last. Every row's `input_row` is its position in the whole input
(the files in the order given, rows in file order), from Spark's `_metadata.row_index`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import unquote, urlparse

from appliance.errors import OutputRefused, ScoringError
from appliance.plans import package, run_files
from appliance.plans.portable import load_plan

RECORD_SCHEMA = "table string, path string, rows long, bytes long, sha256 string, seconds double, rows_in long"


def score_on_spark(spark: Any, package_dir: str, *, trusted_key: str, inputs: list[str], run_dir: str,
                   run_id: str | None = None) -> dict[str, Any]:
    """Score `inputs` (Parquet files) with the package at `package_dir` into the new or empty `run_dir`;
    returns the manifest written there."""
    from pyspark.sql import functions as F

    members = package.read_directory(package_dir)
    plan = load_plan(members, trusted_key=trusted_key)  # refused here, before any task, if not as signed
    run_id = run_id or run_files.new_run_id()
    started = dt.datetime.now(dt.timezone.utc)
    day = started.date().isoformat()
    files = run_files.input_offsets(str(Path(p).resolve()) for p in inputs)
    offsets = {path: first for path, _, first in files}
    out = Path(run_dir).resolve()
    if out.exists() and any(out.iterdir()):
        raise OutputRefused(f"{out} is not empty; a run writes into a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    shared = spark.sparkContext.broadcast((members, trusted_key, offsets, str(out), run_id, day))
    frame = spark.read.parquet(*[path for path, _, _ in files]).select(
        "*", F.col("_metadata.file_path").alias("_vigil_file"), F.col("_metadata.row_index").alias("_vigil_file_row"))
    records = [row.asDict() for row in frame.mapInArrow(lambda batches: _task(shared.value, batches),
                                                        RECORD_SCHEMA).collect()]
    read = sum(record["rows_in"] for record in records)
    if read != sum(rows for _, rows, _ in files):
        raise ScoringError(f"the tasks read {read} rows of {sum(rows for _, rows, _ in files)}; no manifest written")
    parts = run_files.parts_of(record for record in records if record["path"])
    finished = dt.datetime.now(dt.timezone.utc).isoformat()
    manifest = run_files.manifest(run_id, plan, files, parts, started.isoformat(), finished)
    run_files.write_manifest(out, manifest)
    return manifest


_PLANS: dict[str, Any] = {}  # per worker process: the plan, loaded once per package


def _task(shared: tuple[Any, ...], batches: Iterable[Any]) -> Iterator[Any]:
    """One Spark task: score its batches with the plan, write its part files, yield one record per file."""
    import pyarrow as pa
    from pyspark import TaskContext

    members, trusted_key, offsets, out, run_id, day = shared
    key = members[package.MANIFEST]
    if key not in _PLANS:
        _PLANS[key] = load_plan(members, trusted_key=trusted_key)
    context = TaskContext.get()
    assert context is not None, "runs inside a Spark task"
    name = f"part-{context.partitionId():05d}.parquet"
    rows_in, parts = run_files.score_part(_PLANS[key], (_numbered(b, offsets) for b in batches), out, run_id, day,
                                          name)
    records = [{**{f: getattr(p, f) for f in run_files.RECORD_FIELDS}, "rows_in": 0} for p in parts]
    records.append({"table": "", "path": "", "rows": 0, "bytes": 0, "sha256": "", "seconds": 0.0,
                    "rows_in": rows_in})
    yield pa.RecordBatch.from_pylist(records, schema=pa.schema([
        ("table", pa.string()), ("path", pa.string()), ("rows", pa.int64()), ("bytes", pa.int64()),
        ("sha256", pa.string()), ("seconds", pa.float64()), ("rows_in", pa.int64())]))


def _numbered(batch: Any, offsets: dict[str, int]) -> Any:
    """The batch's input columns and `_vigil_row`: its file's first row in the whole input plus its row there."""
    import pyarrow as pa
    import pyarrow.compute as pc

    files = batch.column("_vigil_file")
    names_of_files = pc.unique(files)
    firsts = pa.array([offsets[unquote(urlparse(f).path)] for f in names_of_files.to_pylist()], pa.int64())
    first = pc.take(firsts, pc.index_in(files, value_set=names_of_files))
    row = pc.add(first, batch.column("_vigil_file_row").cast(pa.int64()))
    names = [n for n in batch.schema.names if n not in ("_vigil_file", "_vigil_file_row")]
    return pa.RecordBatch.from_arrays([*(batch.column(n) for n in names), row], names=[*names, run_files.ROW_COLUMN])
