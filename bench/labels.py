"""Label ingestion benchmark: the feedback API and `vigil labels load`, against one insert per label.

    make bench-labels            (or: .venv/bin/python bench/labels.py [--json])

Trains a small flight-delay model in a fresh home, fills its prediction log with 1.3 million answered rows
(synthetic log rows through the store's own bulk insert: the labels need rows to attach to, not real
traffic), starts `vigil up`, and measures:

- the feedback API at 1,000, 10,000 and 100,000 labels per call (client-side wall time of the HTTP call,
  body encoded beforehand; each call labels fresh rows, so every label is `recorded`); median of 3 calls;
- `vigil labels load` of a Parquet file of 1,000,000 labels by request id through the daemon (wall time of
  the command's admin call, and the daemon's CPU seconds for it), then the same file again (all `unchanged`);
- the peer: the one-insert-per-label path the feedback API used before (one bound INSERT ... ON CONFLICT
  per label in one transaction, after the same look-ups), in this process on the same store with the
  daemon stopped, over 2,000 labels.

Results are ratios within one run on one machine; docs/benchmarks.md has a run and the command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VIGIL = Path(sys.executable).with_name("vigil")
ROWS_PER_REQUEST = 1000
API_SIZES = (1_000, 10_000, 100_000)
FILE_LABELS = 1_000_000
PEER_LABELS = 2_000
SPEC = """model = "delay"
task = "binary"
target = "delayed"
positive_class = true
seed = 7

[source]
path = "{path}"

[features]
numeric = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
categorical = ["carrier", "origin"]

[split]
time_column = "time_hour"
holdout_fraction = 0.25

[estimator]
kind = "logistic_regression"
"""


def make_home(root: Path) -> Path:
    home = root / "home"
    spec = root / "spec.toml"
    spec.write_text(SPEC.format(path=(ROOT / "sample_data" / "flights.parquet").as_posix()))
    for args in (["init"], ["train", "--spec", str(spec)],
                 ["promote", "delay", "1", "--to", "champion", "--reason", "bench"]):
        subprocess.run([str(VIGIL), *args, "--home", str(home)], check=True, capture_output=True)
    return home


def fill_log(home: Path, requests: int) -> None:
    """`requests` answered requests of ROWS_PER_REQUEST rows each, ids b0..b{requests-1}."""
    import polars as pl

    from appliance.store import prediction_queries as pq
    from appliance.store.connection import Store

    rows = requests * ROWS_PER_REQUEST
    frame = pl.DataFrame({
        "request_id": pl.Series([f"b{n}" for n in range(requests)]).gather(
            pl.int_range(0, rows, eager=True) // ROWS_PER_REQUEST),
        "row_index": (pl.int_range(0, rows, eager=True) % ROWS_PER_REQUEST).cast(pl.Int32),
        "logged_at": pl.Series([datetime.now()] * rows).cast(pl.Datetime("us")),
        "model_name": ["delay"] * rows, "version": [1] * rows, "route": ["champion"] * rows, "api": ["native"] * rows,
        "prediction": [0.0] * rows, "score": [0.2] * rows, "latency_ms": [1.0] * rows,
        "flags": pl.Series([[]] * rows, dtype=pl.List(pl.String)), "audit_sample": [False] * rows,
        "probabilities": pl.Series([None] * rows, dtype=pl.List(pl.Float64)),
        "event_time": pl.Series([None] * rows, dtype=pl.Datetime("us"))})
    frame = frame.select([c for c in pq.LOG_COLUMNS if c in frame.columns])
    path = home / "exports" / "log.parquet"
    path.parent.mkdir(exist_ok=True)
    frame.write_parquet(path)
    with Store.open(home / "vigil.duckdb") as store, store.transaction():
        pq.insert_log_file(store, path)
    path.unlink()


def labels_for(first_request: int, count: int) -> list[dict[str, Any]]:
    return [{"request_id": f"b{first_request + n // ROWS_PER_REQUEST}", "row_index": n % ROWS_PER_REQUEST,
             "label": n % 3 == 0} for n in range(count)]


def post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def api_rates(url: str, next_request: int) -> tuple[dict[int, float], int]:
    rates = {}
    for size in API_SIZES:
        seen = []
        for _ in range(3):
            body = json.dumps({"labels": labels_for(next_request, size)}).encode()
            next_request += size // ROWS_PER_REQUEST
            began = time.perf_counter()
            answer = post(f"{url}/v1/models/delay/feedback", body)
            seen.append(size / (time.perf_counter() - began))
            assert answer["counts"] == {"recorded": size}, answer["counts"]
        rates[size] = statistics.median(seen)
    return rates, next_request


def file_rates(home: Path, root: Path, next_request: int, daemon_pid: int) -> dict[str, float]:
    """Labels per second of each load, and the daemon's CPU seconds for it (`first_cpu_s`, `again_cpu_s`:
    what the load costs whatever else the machine runs)."""
    import polars as pl

    from appliance.admin_client import call

    items = labels_for(next_request, FILE_LABELS)
    path = root / "labels.parquet"
    pl.DataFrame(items).write_parquet(path)
    found = {}
    for name, status in (("first", "recorded"), ("again", "unchanged")):
        cpu = cpu_seconds(daemon_pid)
        began = time.perf_counter()
        result = call(str(home), "labels_load", {"actor": "bench", "file": str(path), "name": "delay"})
        found[name] = FILE_LABELS / (time.perf_counter() - began)
        found[f"{name}_cpu_s"] = cpu_seconds(daemon_pid) - cpu
        assert result["counts"] == {status: FILE_LABELS}, result["counts"]
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (Linux /proc; NaN elsewhere)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peer_rate(home: Path, next_request: int) -> float:
    """The one-insert-per-label path: look-ups, then one INSERT ... ON CONFLICT per label, one transaction."""
    from appliance.store.connection import Store

    items = labels_for(next_request, PEER_LABELS)
    with Store.open(home / "vigil.duckdb") as store:
        began = time.perf_counter()
        with store.transaction():
            ids = sorted({i["request_id"] for i in items})
            store.execute("SELECT request_id, any_value(model_name), count(*) FROM prediction_log WHERE request_id IN "
                          "(SELECT unnest(?::VARCHAR[])) AND route <> 'shadow' GROUP BY request_id", [ids])
            for item in items:
                store.execute(
                    "INSERT INTO feedback (request_id, row_index, model_name, label, label_value, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, row_index) DO UPDATE SET "
                    "label = excluded.label, label_value = excluded.label_value, received_at = excluded.received_at",
                    [item["request_id"], item["row_index"], "delay", str(item["label"]).lower(),
                     float(item["label"]), datetime.now()])
        return PEER_LABELS / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    api_requests = 3 * sum(API_SIZES) // ROWS_PER_REQUEST
    with tempfile.TemporaryDirectory(prefix="vigil-bench-labels-") as scratch:
        root = Path(scratch)
        home = make_home(root)
        fill_log(home, api_requests + FILE_LABELS // ROWS_PER_REQUEST + PEER_LABELS // ROWS_PER_REQUEST)
        daemon = subprocess.Popen([str(VIGIL), "up", "--home", str(home), "--port", "0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            url = _wait(home)
            api, next_request = api_rates(url, 0)
            files = file_rates(home, root, next_request, daemon.pid)
            next_request += FILE_LABELS // ROWS_PER_REQUEST
        finally:
            daemon.terminate()
            daemon.wait(60)
        peer = peer_rate(home, next_request)
    result = {"api_labels_per_s": {str(k): round(v) for k, v in api.items()},
              "file_labels_per_s": {k: round(files[k]) for k in ("first", "again")},
              "file_daemon_cpu_s": {k: round(files[f"{k}_cpu_s"], 2) for k in ("first", "again")},
              "one_insert_per_label_per_s": round(peer),
              "api_100k_vs_peer": round(api[100_000] / peer, 1), "file_vs_peer": round(files["first"] / peer, 1)}
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    print("| path | labels/s | × one insert per label |\n|---|---:|---:|")
    for size, rate in api.items():
        print(f"| feedback API, {size:,} labels per call | {rate:,.0f} | {rate / peer:,.1f} |")
    print(f"| `vigil labels load`, {FILE_LABELS:,} labels (Parquet, by request id) | {files['first']:,.0f} | "
          f"{files['first'] / peer:,.1f} |")
    print(f"| the same file again (all unchanged) | {files['again']:,.0f} | {files['again'] / peer:,.1f} |")
    print(f"| one INSERT per label (the former path), {PEER_LABELS:,} labels | {peer:,.0f} | 1.0 |")
    print(f"\nDaemon CPU seconds per file load: first {files['first_cpu_s']:.2f}, again {files['again_cpu_s']:.2f}")
    return 0


def _wait(home: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = json.loads((home / "daemon.json").read_text())
            url = f"http://127.0.0.1:{info['port']}"
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return url
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise RuntimeError("vigil up did not start")


if __name__ == "__main__":
    sys.exit(main())
