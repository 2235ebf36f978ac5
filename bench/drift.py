"""Drift benchmark: Vigil's drift check against Evidently's default data drift report, same data, same run.

    make bench-drift          (or: .venv/bin/python bench/drift.py [--json] [--markdown])

1,000,000 reference rows x 20 numeric columns against 200,000 current rows (ties, 1% missing values,
shifts in some columns), held as NumPy arrays by both tools (file reading is not timed). Vigil builds
each column's reference profile once (as it does once per version) and then runs the check: PSI and
Jensen–Shannon over 10 quantile bins plus a missing bin, the KS statistic and p-value, missing rates,
quantiles and the most-moved bins, for every column. Evidently (in its own venv, .bench-venv-evidently)
runs `Report([DataDriftPreset()])` on the same data as pandas frames. Each side runs 3 times; medians
are reported. Goal: the check at least 30x faster than Evidently.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = ROOT / ".bench-venv-evidently" / "bin" / "python"
REFERENCE_ROWS, CURRENT_ROWS, COLUMNS = 1_000_000, 200_000, 20
PEER = """
import sys, time, json, numpy as np, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref = np.load(sys.argv[1]); cur = np.load(sys.argv[2])
names = [f"f{i}" for i in range(ref.shape[1])]
reference, current = pd.DataFrame(ref, columns=names), pd.DataFrame(cur, columns=names)
Report([DataDriftPreset()]).run(current.head(1000), reference.head(1000)).dict()  # warm-up, not timed
times = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    result = Report([DataDriftPreset()]).run(current, reference)
    result.dict()
    times.append(time.perf_counter() - start)
import evidently
print(json.dumps({"seconds": times, "version": evidently.__version__}))
"""


def make_data(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = np.empty((REFERENCE_ROWS, COLUMNS))
    current = np.empty((CURRENT_ROWS, COLUMNS))
    for j in range(COLUMNS):
        scale = 1.0 + j / 4
        reference[:, j] = rng.normal(j, scale, REFERENCE_ROWS)
        shift = 0.5 * scale if j % 4 == 0 else 0.0  # every fourth column drifts
        current[:, j] = rng.normal(j + shift, scale * (1.3 if j % 5 == 0 else 1.0), CURRENT_ROWS)
        if j % 3 == 0:  # ties, as counts and rounded readings have
            reference[:, j], current[:, j] = np.round(reference[:, j]), np.round(current[:, j])
        reference[rng.random(REFERENCE_ROWS) < 0.01, j] = np.nan
        current[rng.random(CURRENT_ROWS) < 0.01 * (3 if j == 1 else 1), j] = np.nan
    return reference, current


def vigil(reference: np.ndarray, current: np.ndarray, repeats: int) -> dict[str, object]:
    from appliance.monitoring.profile import NumericProfile

    start = time.perf_counter()
    profiles = [NumericProfile.of(reference[:, j]) for j in range(COLUMNS)]
    profile_s = time.perf_counter() - start
    profiles[0].drift(current[:1000, 0])  # warm-up (imports), not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        results = [profiles[j].drift(current[:, j]) for j in range(COLUMNS)]
        times.append(time.perf_counter() - start)
    return {"profile_s": profile_s, "check_s": times, "drifted": [j for j, r in enumerate(results)
                                                                 if r.verdict != "ok"]}


def evidently(reference: np.ndarray, current: np.ndarray, repeats: int) -> dict[str, object]:
    if not PEER_PYTHON.exists():
        raise RuntimeError("needs .bench-venv-evidently (make bench-drift builds it)")
    with tempfile.TemporaryDirectory() as work:
        np.save(Path(work) / "ref.npy", reference)
        np.save(Path(work) / "cur.npy", current)
        done = subprocess.run([str(PEER_PYTHON), "-c", PEER, str(Path(work) / "ref.npy"), str(Path(work) / "cur.npy"),
                               str(repeats)], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"Evidently failed: {done.stderr[-2000:]}")
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    reference, current = make_data()
    ours = vigil(reference, current, args.repeats)
    peer = evidently(reference, current, args.repeats)
    check = statistics.median(ours["check_s"])  # type: ignore[arg-type]
    theirs = statistics.median(peer["seconds"])  # type: ignore[arg-type]
    data = {"vigil": ours, "evidently": peer, "check_median_s": check, "evidently_median_s": theirs,
            "ratio": theirs / check, "ratio_with_profile": theirs / (check + float(ours["profile_s"]))}  # type: ignore
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"Vigil: reference profile {ours['profile_s']:.2f} s (once per version); check {check:.3f} s "
          f"(runs {', '.join(f'{t:.3f}' for t in ours['check_s'])}); drifted columns {ours['drifted']}")  # type: ignore
    print(f"Evidently {peer['version']} DataDriftPreset: {theirs:.2f} s (runs "
          f"{', '.join(f'{t:.2f}' for t in peer['seconds'])})")  # type: ignore[union-attr]
    print(f"ratio: {data['ratio']:.1f}x (goal >= 30x: {'met' if data['ratio'] >= 30 else 'not met'}); "
          f"with the profile built in the same call: {data['ratio_with_profile']:.1f}x")
    if args.markdown:
        print(f"\n| tool | what | median s |\n|---|---|---:|\n"
              f"| Vigil | reference profile, once per version | {ours['profile_s']:.2f} |\n"
              f"| Vigil | drift check, 20 columns, all metrics | {check:.3f} |\n"
              f"| Evidently {peer['version']} | `Report([DataDriftPreset()])` | {theirs:.2f} |\n\n"
              f"Evidently / Vigil check: **{data['ratio']:.1f}x**; including the profile build: "
              f"{data['ratio_with_profile']:.1f}x.")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
