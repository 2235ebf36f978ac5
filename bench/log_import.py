"""`vigil log import` of a 10-million-row cluster run, and an exported plan on Spark against `vigil score`.

    .venv/bin/python bench/log_import.py [--rows N] [--spark-rows N] [--skip-spark] [--json]

Builds a home in a temporary directory: flight_delay trained by sample_data/flight_delay.toml (January
to June of the shipped flights), a signing key, and its plan exported (`vigil plan export`).

1. Import. A run of `--rows` rows (10,000,000) is made with the recipe's writer, not through Spark (to keep
   it fast): 200,000 July-December flights are scored once (`run_files.score_part`, the function each
   Spark task calls), then their scored rows are written again as the parts of a run whose input is that
   file read `rows / 200,000` times (rows are independent, so this is the run Spark would write), with
   the manifest. The one `score_part` call's rows/s is reported too: the recipe's work per task without
   Spark. Timed: `vigil log import DIR` in its own process (wall clock, with the interpreter's
   start), and the import's own rows/s (its result: checks, hashes, the insert of rows and inputs).
2. Scoring. The same `--spark-rows` (500,000) July-December flights scored by `vigil score` on this
   box (its pipeline, in its own process; wall clock, so the interpreter's start counts against it) and
   by `score_on_spark` in Spark local mode with one core (`local[1]`) and with every core (`local[N]`),
   the session started before the clock starts. Reported: rows/s, and rows/s per core.

Exits 0 whatever the result; prints the load average before and after (the numbers are ratios of one run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appliance.plans import run_files  # noqa: E402
from appliance.plans.portable import load_plan  # noqa: E402

DATA = ROOT / "sample_data" / "flights.parquet"
SPEC = ROOT / "sample_data" / "flight_delay.toml"
VIGIL = Path(sys.executable).with_name("vigil")
BASE_ROWS = 200_000


def _vigil(*args: Any, json_out: bool = True) -> dict[str, Any]:
    done = subprocess.run([str(VIGIL), *map(str, args), *(["--json"] if json_out else [])], capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"vigil {' '.join(map(str, args))}: {done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else {}


def _home(work: Path) -> dict[str, Any]:
    home = work / "home"
    _vigil("init", "--home", home, json_out=False)
    _vigil("train", "--spec", SPEC, "--home", home)
    _vigil("keys", "init", "--home", home)
    _vigil("plan", "export", "flight_delay", "1", work / "plan", "--home", home)
    key = json.loads((work / "plan" / "signature.json").read_text())["public_key"]
    return {"home": home, "package": work / "plan", "key": key}


def _later(work: Path, rows: int, name: str) -> Path:
    later = pl.read_parquet(DATA).filter(pl.col("month") > 6)
    repeated = pl.concat([later] * (rows // later.height + 1)).head(rows)
    path = work / name
    repeated.write_parquet(path)
    return path


def _big_run(plan: Any, base: Path, rows: int, run_dir: Path) -> dict[str, Any]:
    """A run of `rows` rows: `base` scored once, its parts written again with their rows' places shifted."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    copies = rows // BASE_ROWS
    run_id = run_files.new_run_id()
    started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    day = started[:10]
    scratch = run_dir.parent / "base-run"
    table = pq.read_table(base)
    numbered = table.append_column(run_files.ROW_COLUMN, pa.array(range(table.num_rows), pa.int64()))
    began = time.perf_counter()
    _, parts = run_files.score_part(plan, numbered.to_batches(max_chunksize=65_536), scratch, run_id, day, "base.parquet")
    writer_rows_per_s = BASE_ROWS / (time.perf_counter() - began)
    scored = {p.table: pq.read_table(scratch / p.path) for p in parts}
    seconds = {p.table: p.seconds for p in parts}
    written = []
    for copy in range(copies):
        for name, rows_of in scored.items():
            shifted = rows_of.set_column(rows_of.schema.get_field_index("input_row"), "input_row",
                                         pc.add(rows_of.column("input_row"), copy * BASE_ROWS))
            written.append(run_files.write_part(run_dir, name, plan.model, day, f"part-{copy:05d}.parquet", shifted,
                                                seconds[name]))
    shutil.rmtree(scratch)
    inputs = [(str(base), BASE_ROWS, copy * BASE_ROWS) for copy in range(copies)]
    manifest = run_files.manifest(run_id, plan, inputs, written, started, started)
    run_files.write_manifest(run_dir, manifest)
    return {**manifest, "writer_rows_per_s": writer_rows_per_s}


def bench_import(built: dict[str, Any], work: Path, rows: int) -> dict[str, Any]:
    plan = load_plan(built["package"], trusted_key=built["key"])
    base = _later(work, BASE_ROWS, "base.parquet")
    began = time.perf_counter()
    manifest = _big_run(plan, base, rows, work / "run")
    made = time.perf_counter() - began
    began = time.perf_counter()
    result = _vigil("log", "import", work / "run", "--home", built["home"])
    wall = time.perf_counter() - began
    again = _vigil("log", "import", work / "run", "--home", built["home"])
    return {"rows_in": manifest["rows_in"], "imported": result["imported"], "rejected": result["rejected"],
            "files": len(manifest["files"]), "run_bytes": sum(f["bytes"] for f in manifest["files"]),
            "made_in_s": made, "writer_rows_per_s": manifest["writer_rows_per_s"], "wall_s": wall, "wall_rows_per_s": result["imported"] / wall,
            "import_rows_per_s": result["rows_per_s"], "second_import_added": again["imported"]}


def bench_scoring(built: dict[str, Any], work: Path, rows: int) -> dict[str, Any]:
    source = _later(work, rows, "score.parquet")
    began = time.perf_counter()
    _vigil("score", "flight_delay", "--version", "1", "--input", source, "--output", work / "scored.parquet",
           "--home", built["home"])
    local = time.perf_counter() - began
    out: dict[str, Any] = {"rows": rows, "vigil_score_s": local, "vigil_score_rows_per_s": rows / local,
                           "cores": os.cpu_count()}
    for cores in (1, os.cpu_count() or 1):
        seconds = _spark_run(built, source, work / f"spark-{cores}", cores)
        out[f"spark_local{cores}_s"] = seconds
        out[f"spark_local{cores}_rows_per_s"] = rows / seconds
        out[f"spark_local{cores}_rows_per_s_per_core"] = rows / seconds / cores
    return out


def _spark_run(built: dict[str, Any], source: Path, run_dir: Path, cores: int) -> float:
    """`score_on_spark` in a fresh local[cores] session (started before the clock), split into 8 files."""
    probe = (
        "import json, os, sys, time\n"
        "os.environ['PYSPARK_PYTHON'] = sys.executable\n"
        "from pyspark.sql import SparkSession\n"
        "from appliance.plans.spark_recipe import score_on_spark\n"
        f"spark = SparkSession.builder.master('local[{cores}]').config('spark.ui.enabled', 'false')"
        ".config('spark.sql.session.timeZone', 'UTC').config('spark.driver.memory', '2g').getOrCreate()\n"
        "spark.sparkContext.setLogLevel('ERROR')\n"
        "spark.range(10).count()\n"
        "began = time.perf_counter()\n"
        f"score_on_spark(spark, {str(built['package'])!r}, trusted_key={built['key']!r}, "
        f"inputs=json.loads(sys.argv[1]), run_dir={str(run_dir)!r})\n"
        "print(time.perf_counter() - began)\n"
    )
    parts = _split(source, run_dir.with_name(run_dir.name + "-in"), 8)
    done = subprocess.run([sys.executable, "-c", probe, json.dumps([str(p) for p in parts])], capture_output=True,
                          text=True, timeout=3600, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def _split(source: Path, folder: Path, count: int) -> list[Path]:
    frame = pl.read_parquet(source)
    folder.mkdir()
    size = -(-frame.height // count)
    paths = []
    for i in range(count):
        path = folder / f"part-{i}.parquet"
        frame[i * size:(i + 1) * size].write_parquet(path)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--spark-rows", type=int, default=500_000)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-import-"))
    try:
        built = _home(work)
        imported = bench_import(built, work, args.rows)
        scoring = None if args.skip_spark else bench_scoring(built, work, args.spark_rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = {"import": imported, "scoring": scoring, "load_before": before, "load_after": os.getloadavg()}
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}; "
          f"load average before {before[0]:.2f}, after {found['load_after'][0]:.2f}")
    i = imported
    print(f"log import: {i['imported']:,} rows ({i['rejected']:,} refused stay in the run), {i['files']} files, "
          f"{i['run_bytes'] / 1e6:,.0f} MB: {i['wall_s']:.1f} s wall = {i['wall_rows_per_s']:,.0f} rows/s "
          f"({i['import_rows_per_s']:,.0f} rows/s inside the import); again: {i['second_import_added']} rows added")
    print(f"the recipe's writer in this process (score_part: plan, answer columns, Parquet, sha256), one call: "
          f"{i['writer_rows_per_s']:,.0f} rows/s")
    if scoring:
        s, cores = scoring, scoring["cores"]
        every = s[f"spark_local{cores}_rows_per_s"]
        print(f"scoring {s['rows']:,} rows: vigil score {s['vigil_score_rows_per_s']:,.0f} rows/s on the box; "
              f"Spark local[1] {s['spark_local1_rows_per_s']:,.0f} rows/s per core; Spark local[{cores}] "
              f"{every:,.0f} rows/s ({every / cores:,.0f} per core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
