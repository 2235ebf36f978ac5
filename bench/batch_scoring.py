"""Batch scoring: `vigil score` rows/s and peak memory against one `predict_proba` on the whole frame, same run.

    make bench-batch          (or: .venv/bin/python bench/batch_scoring.py [--rows N] [--small-rows N]
                                   [--json] [--markdown] [--profile])

Trains the sample flight-delay model in a temporary home (`vigil init`, `vigil train`, `vigil promote`),
then writes two Parquet inputs of the model's 15 feature columns, sampled with replacement from the
sample flights (seeded): `--small-rows` (500,000) and `--rows` (5,000,000). In 0.1% of the rows one
number is made non-finite (inf, -inf or NaN: refused by the contract under any policy) and in another
0.1% the carrier is one the model never saw (accepted and flagged under the default policy).

Each input is scored by `vigil score flight_delay --input ... --output ...` as its own process (no
daemon: the command opens the store itself), end to end: copy to Parquet, contract checks per chunk,
scoring, output and rejects files, and durable logging of every row with its inputs. The limit runs in
the same run as a separate process: it loads the same registered artifact the same way, reads the
whole input, drops the rows Vigil refuses, casts the frame to the model's input types as Vigil does and
calls `predict_proba` once on all of it (after an untimed warm-up call on 100 rows). A third process
does the same but calls it on chunks of Vigil's size, to tell the cost of chunking from the rest.
Wall time, CPU time and peak RSS of each process come from `wait4`; for `vigil score` also the highest
RSS sampled before it starts writing the output file. The load average is reported: the timings
depend on what else the machine runs.

The reported counts, the log and the scores are checked: refused rows = planted non-finite rows, every
accepted row logged with its inputs and flags, and the sum of scores equal to the limit's.

With `--profile`, a further `vigil score` of the small input runs under py-spy (if installed), and its
samples are grouped by phase. Exits 0 whatever the result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
VIGIL = Path(sys.executable).with_name("vigil")
SPEC = ROOT / "sample_data" / "flight_delay.toml"
MODEL = "flight_delay"
UNSEEN_CARRIER = "ZZ"
LIMIT = """
import json, sys, time
from pathlib import Path
start = time.perf_counter()
import polars as pl
from appliance.home.context import open_context
from appliance.contracts.features import NUMERIC, features_from_json, model_input
from appliance.home import Home
from appliance.registry.loading import load_model
from appliance.registry.versions import get_version
home, name, version, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
with open_context(Home(Path(home)), read_only=True) as ctx:
    row = get_version(ctx.store, name, version)
    model = load_model(ctx, name, version)
raw = row["features"]
features = features_from_json(json.loads(raw) if isinstance(raw, str) else raw)
loaded = time.perf_counter()
frame = pl.read_parquet(path, columns=[f.name for f in features])
numbers = [pl.col(f.name).cast(pl.Float64) for f in features if f.kind == NUMERIC]
frame = frame.filter(pl.all_horizontal([n.is_finite() | n.is_null() for n in numbers]))  # what Vigil refuses
inputs = model_input(frame, features)
del frame
model.predict_proba(inputs.head(100))  # warm-up (first-call set-up), not timed
read = time.perf_counter()
if chunk:  # the reference: the same calls in Vigil's chunks
    score_sum = sum(float(model.predict_proba(inputs.slice(offset, chunk))[:, 1].sum())
                    for offset in range(0, inputs.height, chunk))
else:  # the limit: one call on the whole frame
    score_sum = float(model.predict_proba(inputs)[:, 1].sum())
print(json.dumps({"rows": inputs.height, "load_s": loaded - start, "read_s": read - loaded,
                  "predict_s": time.perf_counter() - read, "score_sum": score_sum}))
"""
PHASES = (  # (the function score_batch calls, as py-spy names it; the phase it is)
    ("load_version_model", "load the model artifact"),
    ("extract_to_parquet", "copy the input to Parquet (DuckDB)"),
    ("LazyFrame.collect", "read a chunk"),
    ("_reasons", "contract checks: reasons per row"),
    ("DataFrame.filter", "contract checks: split refused rows"),
    ("model_input", "cast to model input"),
    ("scores_of", "predict_proba, per chunk"),
    ("DataFrame.write_parquet", "write chunk files"),
    ("score_batch.<locals>.<listcomp>", "log: rows built as Python tuples"),
    ("Store.append_rows", "log: DuckDB appender"),
    ("Store.transaction", "log: commit"),
    ("_combine", "concatenate chunk files into the output"),
)


def measured(command: list[str], stdout: Path, until: Path | None = None) -> dict[str, Any]:
    """Run `command` as a child; its wall time, CPU time (from wait4) and peak RSS.

    The peak is the child's own high-water mark (`VmHWM` in /proc, read every 20 ms while it runs), not
    wait4's `ru_maxrss`: that one also counts the pages the child shared with this process between
    fork and exec, so a large frame held here would be charged to the command. With `until`, also the
    highest RSS sampled before that file appears.
    """
    with stdout.open("w") as out, stdout.with_suffix(".err").open("w") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        before: list[int] = []
        peak: list[int] = [0]
        sampler = threading.Thread(target=_sample_rss, args=(child.pid, until, before, peak), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{stdout.stem} failed: {stdout.with_suffix('.err').read_text()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": peak[0] / 1024,
            "rss_before_output_mib": max(before) / 1024 if before else None, "output": json.loads(stdout.read_text())}


def _sample_rss(pid: int, until: Path | None, before: list[int], peak: list[int]) -> None:
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if "VmHWM" not in fields:  # exited (a zombie has no memory)
                return
            peak[0] = max(peak[0], int(fields["VmHWM"].split()[0]))
            if until is not None and not until.exists():
                before.append(int(fields["VmRSS"].split()[0]))
        except (OSError, ValueError, IndexError, KeyError):
            return
        time.sleep(0.02)


def make_home(work: Path) -> Path:
    home = work / "home"
    for args in (["init"], ["train", "--spec", str(SPEC)],
                 ["promote", MODEL, "1", "--to", "champion", "--reason", "benchmark"]):
        subprocess.run([str(VIGIL), *args, "--home", str(home)], check=True, capture_output=True, text=True)
    (home / "vigil.toml").write_text("[jobs]\nenabled = false\n")  # defaults otherwise: unknown categories flagged
    return home


def make_input(path: Path, rows: int, seed: int = 11, bad_share: float = 0.001) -> dict[str, int]:
    """`rows` sampled with replacement from the sample flights; planted problems counted."""
    spec = tomllib.loads(SPEC.read_text())["features"]
    numeric, categorical = spec["numeric"], spec["categorical"]
    flights = pl.read_parquet(ROOT / "sample_data" / "flights.parquet", columns=numeric + categorical)
    rng = np.random.default_rng(seed)
    frame = flights[rng.integers(0, flights.height, rows)].with_columns(pl.col(numeric).cast(pl.Float64))
    planted = int(rows * bad_share)
    chosen = rng.choice(rows, 2 * planted, replace=False)
    nonfinite, unseen = chosen[:planted], chosen[planted:]
    index = pl.int_range(pl.len())
    for j, name in enumerate(numeric):  # spread the non-finite values over the numeric columns
        these = nonfinite[nonfinite % len(numeric) == j]
        value = (float("inf"), float("-inf"), float("nan"))[j % 3]
        frame = frame.with_columns(pl.when(index.is_in(these)).then(value).otherwise(pl.col(name)).alias(name))
    frame = frame.with_columns(pl.when(index.is_in(unseen)).then(pl.lit(UNSEEN_CARRIER))
                               .otherwise(pl.col("carrier")).alias("carrier"))
    frame.write_parquet(path)
    return {"rows": rows, "nonfinite": planted, "unseen_carrier": planted}


def sql(home: Path, statement: str) -> list[dict[str, Any]]:
    done = subprocess.run([str(VIGIL), "sql", "--home", str(home), "--format", "json", statement],
                          check=True, capture_output=True, text=True)
    return list(json.loads(done.stdout))


def checks(home: Path, planted: dict[str, int], result: dict[str, Any], output: Path,
           limit: dict[str, Any], chunked: dict[str, Any]) -> list[str]:
    """What failed (empty: all passed)."""
    batch = result["batch_id"]  # 'batch-' + hex: safe to inline
    logged = sql(home, f"SELECT count(*) AS n, count(*) FILTER (WHERE list_contains(flags, "
                       f"'unknown_category:carrier')) AS unseen FROM prediction_log WHERE request_id = '{batch}'")[0]
    inputs = sql(home, f"SELECT count(*) AS n FROM prediction_inputs__{MODEL} WHERE request_id = '{batch}'")[0]
    scored = pl.scan_parquet(output).select(pl.len().alias("n"), pl.col("score").sum().alias("sum")).collect().row(0)
    expected = planted["rows"] - planted["nonfinite"]
    found = {
        "refused rows = planted non-finite": (result["rejected"], planted["nonfinite"]),
        "scored rows = the rest": (result["scored"], expected),
        "rows in the output file": (scored[0], expected),
        "rows in prediction_log": (logged["n"], expected),
        "rows in the inputs table": (inputs["n"], expected),
        "logged rows flagged unknown_category:carrier": (logged["unseen"], planted["unseen_carrier"]),
        "rows the limit scored": (limit["rows"], expected),
    }
    failed = [f"{what}: {got} (expected {want})" for what, (got, want) in found.items() if got != want]
    for who, sums in (("the limit", limit), ("the chunked reference", chunked)):
        if abs(scored[1] - sums["score_sum"]) > 1e-9 * expected:
            failed.append(f"sum of scores {scored[1]:.6f} differs from {who}'s {sums['score_sum']:.6f}")
    return failed


def one_size(work: Path, home: Path, rows: int, chunk_rows: int) -> dict[str, Any]:
    source, output = work / f"in-{rows}.parquet", work / f"out-{rows}.parquet"
    planted = make_input(source, rows)
    vigil = measured([str(VIGIL), "score", MODEL, "--input", str(source), "--output", str(output),
                      "--home", str(home), "--json"], work / f"vigil-{rows}.json", until=output)
    limit, chunked = (measured([sys.executable, "-c", LIMIT, str(home), MODEL, "1", str(source), str(chunk)],
                               work / f"limit-{rows}-{chunk}.json") for chunk in (0, chunk_rows))
    failed = checks(home, planted, vigil["output"], output, limit["output"], chunked["output"])
    for leftover in (source, output, Path(vigil["output"]["rejects"] or output)):
        leftover.unlink(missing_ok=True)
    return {"rows": rows, "planted": planted, "vigil": vigil, "limit": limit, "chunked": chunked,
            "failed_checks": failed,
            "vigil_rows_per_s": rows / vigil["wall_s"],
            "limit_rows_per_s": limit["output"]["rows"] / limit["output"]["predict_s"],
            "chunked_rows_per_s": chunked["output"]["rows"] / chunked["output"]["predict_s"],
            "limit_process_rows_per_s": limit["output"]["rows"] / limit["wall_s"]}


def profile(work: Path, home: Path, rows: int) -> dict[str, Any] | None:
    """Score a `rows` input under py-spy (100 samples/s); the share of samples in each phase."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return None
    source, raw = work / "profile-in.parquet", work / "profile.txt"
    make_input(source, rows)
    subprocess.run([spy, "record", "--format", "raw", "--rate", "100", "--output", str(raw), "--",
                    str(VIGIL), "score", MODEL, "--input", str(source), "--output", str(work / "profile-out.parquet"),
                    "--home", str(home)], check=True, capture_output=True)
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, samples = line.rsplit(" ", 1)
        counts[_phase(stack.split(";"))] += int(samples)
    total = sum(counts.values())
    return {"rows": rows, "samples": total, "shares": {k: v / total for k, v in counts.most_common()}}


def _phase(frames: list[str]) -> str:
    """The phase of one sampled stack: the function score_batch was in (contextlib's frames skipped)."""
    at = next((i for i, f in enumerate(frames) if f.startswith("score_batch ")), None)
    if at is None:
        return "start-up, imports, store open and close"
    callee = next((f for f in frames[at + 1:] if "contextlib.py" not in f), "")
    return next((phase for name, phase in PHASES if callee.startswith(name + " ")), "other in score_batch")


def measure(rows: int, small_rows: int, with_profile: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vigil-batch-bench-"))
    try:
        load_before = os.getloadavg()[0]
        home = make_home(work)
        chunk_rows = _chunk_rows()
        sizes = [one_size(work, home, n, chunk_rows) for n in (small_rows, rows)]
        spied = profile(work, home, small_rows) if with_profile else None
        return {"sizes": sizes, "profile": spied, "chunk_rows": chunk_rows, "cores": os.cpu_count(),
                "load_average_1min": [load_before, os.getloadavg()[0]],
                "rss_growth": sizes[1]["vigil"]["peak_rss_mib"] / sizes[0]["vigil"]["peak_rss_mib"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _chunk_rows() -> int:
    sys.path.insert(0, str(ROOT))
    from appliance.serving.batch_scoring import CHUNK_ROWS

    return CHUNK_ROWS


def table(data: dict[str, Any]) -> str:
    lines = ["| rows | what | wall s | CPU s | rows/s | peak RSS MiB |", "|---:|---|---:|---:|---:|---:|"]
    for size in data["sizes"]:
        vigil, limit, n = size["vigil"], size["limit"], f"{size['rows']:,}"
        lines += [
            f"| {n} | `vigil score`, process end to end | {vigil['wall_s']:.1f} | {vigil['cpu_s']:.1f} | "
            f"{size['vigil_rows_per_s']:,.0f} | {vigil['peak_rss_mib']:,.0f} |",
            f"| {n} | limit: `predict_proba` on the whole frame, the call | {limit['output']['predict_s']:.1f} | | "
            f"{size['limit_rows_per_s']:,.0f} | |",
            f"| {n} | limit: its process (load, read, cast, predict) | {limit['wall_s']:.1f} | {limit['cpu_s']:.1f} | "
            f"{size['limit_process_rows_per_s']:,.0f} | {limit['peak_rss_mib']:,.0f} |",
            f"| {n} | reference: `predict_proba` in chunks of {data['chunk_rows']:,}, the calls | "
            f"{size['chunked']['output']['predict_s']:.1f} | | {size['chunked_rows_per_s']:,.0f} | |"]
    return "\n".join(lines)


def summary(data: dict[str, Any]) -> str:
    big, small = data["sizes"][1], data["sizes"][0]
    text = [f"`vigil score` at {big['rows']:,} rows: {big['vigil_rows_per_s']:,.0f} rows/s end to end "
            f"({big['vigil']['output']['rows_per_s']:,.0f} rows/s by its own clock, from the copy to the last chunk); "
            f"the limit `predict_proba` {big['limit_rows_per_s']:,.0f} rows/s: "
            f"**{big['limit_rows_per_s'] / big['vigil_rows_per_s']:.1f}x** faster "
            f"({big['limit_process_rows_per_s'] / big['vigil_rows_per_s']:.1f}x counting its whole process). "
            f"The same calls in chunks of {data['chunk_rows']:,}: {big['chunked_rows_per_s']:,.0f} rows/s "
            f"({big['chunked_rows_per_s'] / big['vigil_rows_per_s']:.1f}x `vigil score`).",
            f"Peak RSS of `vigil score`: {small['vigil']['peak_rss_mib']:,.0f} MiB at {small['rows']:,} rows, "
            f"{big['vigil']['peak_rss_mib']:,.0f} MiB at {big['rows']:,} ({data['rss_growth']:.2f}x for "
            f"{big['rows'] / small['rows']:.0f}x the rows; chunks of {data['chunk_rows']:,}); the limit's "
            f"{small['limit']['peak_rss_mib']:,.0f} and {big['limit']['peak_rss_mib']:,.0f} MiB. "
            f"Highest RSS sampled before the output file is written: {_mib(small['vigil']['rss_before_output_mib'])} "
            f"and {_mib(big['vigil']['rss_before_output_mib'])} MiB.",
            f"Load average (1 min) at start and end: {data['load_average_1min'][0]:.2f} and "
            f"{data['load_average_1min'][1]:.2f} on {data['cores']} cores."]
    failed = [f"{s['rows']:,} rows: {f}" for s in data["sizes"] for f in s["failed_checks"]]
    text.append("Checks failed: " + "; ".join(failed) if failed else
                "Checks passed at both sizes: refused = planted non-finite rows, every accepted row in the output, "
                "the log and the inputs table, planted unseen carriers flagged, sum of scores = the limit's.")
    return "\n".join(text)


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def phases(spied: dict[str, Any]) -> str:
    lines = [f"py-spy, `vigil score` of {spied['rows']:,} rows, {spied['samples']:,} samples at 100/s:", "",
             "| phase | share of samples |", "|---|---:|"]
    lines += [f"| {phase} | {share:.0%} |" for phase, share in spied["shares"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small-rows", type=int, default=500_000)
    parser.add_argument("--profile", action="store_true", help="also profile a small run with py-spy")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    data = measure(args.rows, args.small_rows, args.profile)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for size in data["sizes"]:
        vigil, limit = size["vigil"], size["limit"]
        print(f"{size['rows']:>10,} rows: vigil score {vigil['wall_s']:6.1f} s {size['vigil_rows_per_s']:>9,.0f} rows/s "
              f"peak {vigil['peak_rss_mib']:6,.0f} MiB | predict_proba {limit['output']['predict_s']:5.1f} s "
              f"{size['limit_rows_per_s']:>10,.0f} rows/s; its process {limit['wall_s']:5.1f} s "
              f"peak {limit['peak_rss_mib']:6,.0f} MiB")
    print(summary(data))
    if data["profile"] is None and args.profile:
        print("py-spy not found: no profile (pip install py-spy)")
    if args.markdown:
        print("\n" + table(data) + "\n\n" + summary(data).replace("\n", "\n\n"))
    if data["profile"]:
        print("\n" + phases(data["profile"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
