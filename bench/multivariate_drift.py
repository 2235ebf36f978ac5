"""Multivariate drift benchmark: Vigil's PCA reconstruction error against NannyML's
DataReconstructionDriftCalculator, same data, same run.

    make bench-multivariate   (or: .venv/bin/python bench/multivariate_drift.py [--json] [--markdown])

1,000,000 reference rows and 1,000,000 analysis rows of 20 features (16 numeric driven by 4 latent
factors, 1% of them missing in four columns; 4 categorical, two of them tied to a factor), in chunks
of 10,000 rows (100 reference chunks, 100 analysis chunks). The analysis is stable for chunks 0-49;
in chunks 50-74 two numeric features flip their relation to their factor (each feature's own
distribution stays the same); in chunks 75-99 a categorical feature's mix moves a little.

Both sides read the same Parquet files before the clock starts and are timed on data they hold:
NannyML (in its own venv, .bench-venv-nannyml) runs `fit(reference)` then `calculate(analysis)` with
`chunk_size=10_000`; Vigil fits `PcaReconstruction` on the reference, scores the reference's rows
(the band's chunks) and the analysis's rows, and judges each chunk (`chunk_drifts`). Three runs each,
medians reported. Checked: the same verdict for every analysis chunk, and the chunk errors and the
band's bounds within a relative 1e-6 of NannyML's. Goal: Vigil at least 10x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PEER_PYTHON = ROOT / ".bench-venv-nannyml" / "bin" / "python"
ROWS, CHUNK, RUNS = 1_000_000, 10_000, 3
NUMERIC = [f"n{i}" for i in range(16)]
CATEGORICAL = [f"c{i}" for i in range(4)]
PEER = r"""
import json, sys, time
import pandas as pd
import nannyml as nml
reference, analysis = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
columns = json.loads(sys.argv[3])
chunk, runs = int(sys.argv[4]), int(sys.argv[5])
times = []
for _ in range(runs):
    start = time.perf_counter()
    calculator = nml.DataReconstructionDriftCalculator(column_names=columns, chunk_size=chunk)
    calculator.fit(reference)
    result = calculator.calculate(analysis)
    times.append(time.perf_counter() - start)
frame = result.filter(period="analysis").to_df()
metric = frame["reconstruction_error"]
print(json.dumps({"seconds": times, "version": nml.__version__,
                  "value": metric["value"].tolist(), "sampling_error": metric["sampling_error"].tolist(),
                  "upper": metric["upper_threshold"].tolist(), "lower": metric["lower_threshold"].tolist(),
                  "alert": [bool(a) for a in metric["alert"]]}))
"""


def make_data(seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    return _rows(rng, drifted=False), _rows(rng, drifted=True)


def _rows(rng: np.random.Generator, drifted: bool) -> pl.DataFrame:
    factors = rng.normal(size=(ROWS, 4))
    loadings = np.random.default_rng(3).uniform(0.5, 1.5, size=16)
    flip = np.ones((ROWS, 16))
    if drifted:  # chunks 50-74: features n2 and n3 turn against their factor
        flip[50 * CHUNK:75 * CHUNK, 2:4] = -1.0
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        values = flip[:, i] * loadings[i] * factors[:, i % 4] + rng.normal(scale=0.6, size=ROWS) + i
        if i % 4 == 1:
            values[rng.random(ROWS) < 0.01] = np.nan
        columns[name] = values
    for i, name in enumerate(CATEGORICAL):
        if i < 2:  # tied to a factor: its band of the factor's values
            codes = np.digitize(factors[:, i] + rng.normal(scale=0.5, size=ROWS), [-1.0, 0.0, 1.0])
        else:
            weights = np.array([0.4, 0.3, 0.2, 0.1])
            codes = rng.choice(4, size=ROWS, p=weights)
            if drifted and i == 3:  # chunks 75-99: the mix moves a little
                tail = slice(75 * CHUNK, ROWS)
                codes[tail] = rng.choice(4, size=ROWS - 75 * CHUNK, p=[0.34, 0.3, 0.22, 0.14])
        columns[name] = np.array(["a", "b", "c", "d"])[codes]
    return pl.DataFrame(columns)


def vigil(reference: pl.DataFrame, analysis: pl.DataFrame, runs: int) -> dict[str, Any]:
    from appliance.monitoring.multivariate import chunk_drifts
    from appliance.monitoring.reconstruction import PcaReconstruction

    PcaReconstruction(NUMERIC, CATEGORICAL).fit(reference.head(1000))  # warm-up (imports), not timed
    times, checks, chunks = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        fit = PcaReconstruction(NUMERIC, CATEGORICAL)
        reference_errors = fit.fit_errors(reference)
        fitted = time.perf_counter()
        chunks = chunk_drifts(fit.errors(analysis), reference_errors, CHUNK)
        times.append(time.perf_counter() - start)
        checks.append(time.perf_counter() - fitted)
    return {"seconds": times, "check_seconds": checks, "chunks": chunks, "components": int(fit.components_.shape[0])}


def nannyml(reference_path: Path, analysis_path: Path, runs: int) -> dict[str, Any]:
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
    done = subprocess.run([str(PEER_PYTHON), "-c", PEER, str(reference_path), str(analysis_path),
                           json.dumps(NUMERIC + CATEGORICAL), str(CHUNK), str(runs)],
                          capture_output=True, text=True, check=True, env=env, cwd=tempfile.gettempdir())
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    chunks = ours["chunks"]
    verdicts = [c.alert for c in chunks]
    values = np.array([c.reconstruction_error for c in chunks])
    band = chunks[0].band
    lowers = [x for x in theirs["lower"] if x is not None and x == x]  # none, or NaN: no lower bound
    return {
        "chunks": len(chunks), "same_verdicts": verdicts == theirs["alert"],
        "alerts_vigil": sum(verdicts), "alerts_nannyml": sum(theirs["alert"]),
        "alert_chunks": [i for i, a in enumerate(verdicts) if a],
        "max_relative_error_difference": float(np.max(np.abs(values - np.array(theirs["value"])) /
                                                      np.array(theirs["value"]))),
        "upper": [band.upper, theirs["upper"][0]],
        "lower": [band.lower, lowers[0] if lowers else None],
        "max_relative_sampling_error_difference": float(np.max(np.abs(
            np.array([c.sampling_error for c in chunks]) - np.array(theirs["sampling_error"])) /
            np.array(theirs["sampling_error"]))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    if not PEER_PYTHON.exists():
        print(f"{PEER_PYTHON} is missing: run `make bench-multivariate` (it builds NannyML's venv)", file=sys.stderr)
        return 2
    reference, analysis = make_data()
    with tempfile.TemporaryDirectory() as folder:
        reference_path, analysis_path = Path(folder) / "reference.parquet", Path(folder) / "analysis.parquet"
        reference.write_parquet(reference_path)
        analysis.write_parquet(analysis_path)
        theirs = nannyml(reference_path, analysis_path, args.runs)
        ours = vigil(pl.read_parquet(reference_path), pl.read_parquet(analysis_path), args.runs)
    checked = compare(ours, theirs)
    vigil_s, peer_s = statistics.median(ours["seconds"]), statistics.median(theirs["seconds"])
    result = {"rows": ROWS, "features": len(NUMERIC) + len(CATEGORICAL), "chunk_rows": CHUNK,
              "components": ours["components"], "nannyml": theirs["version"], "vigil_s": vigil_s,
              "vigil_check_s": statistics.median(ours["check_seconds"]),
              "nannyml_s": peer_s, "speedup": peer_s / vigil_s, **checked}
    if args.json:
        print(json.dumps(result, indent=2))
    if args.markdown:
        print(_markdown(result))
    if not args.json and not args.markdown:
        print(f"Vigil {vigil_s:.2f} s, NannyML {theirs['version']} {peer_s:.2f} s: {peer_s / vigil_s:.1f}x; "
              f"same verdicts: {checked['same_verdicts']}; max relative error difference "
              f"{checked['max_relative_error_difference']:.2e}")
    return 0 if checked["same_verdicts"] and result["speedup"] >= 10 else 1


def _markdown(r: dict[str, Any]) -> str:
    lower = r["lower"]
    return "\n".join([
        f"| fit + score {r['rows']:,} reference and {r['rows']:,} analysis rows x {r['features']} features, "
        f"{r['chunks']} chunks of {r['chunk_rows']:,} | seconds (median of 3) |",
        "|---|---:|",
        f"| NannyML {r['nannyml']} DataReconstructionDriftCalculator | {r['nannyml_s']:.2f} |",
        f"| Vigil PcaReconstruction + chunk bands | {r['vigil_s']:.2f} |",
        f"| (of which scoring and judging the analysis with the fit in hand) | {r['vigil_check_s']:.2f} |",
        f"| speed-up | {r['speedup']:.1f}x |",
        "",
        f"Same verdict in every chunk: {'yes' if r['same_verdicts'] else 'NO'} ({r['alerts_vigil']} alerts for Vigil, "
        f"{r['alerts_nannyml']} for NannyML, in chunks {_ranges(r['alert_chunks'])}); components kept "
        f"{r['components']}; largest relative difference of a chunk's error {r['max_relative_error_difference']:.1e}, "
        f"of its sampling error {r['max_relative_sampling_error_difference']:.1e}; upper bound "
        f"{r['upper'][0]:.6f} vs {r['upper'][1]:.6f}; lower bound "
        f"{_bound(lower[0])} vs {_bound(lower[1])}.",
    ])


def _bound(value: float | None) -> str:
    return "none" if value is None else f"{value:.6f}"


def _ranges(indexes: list[int]) -> str:
    found: list[str] = []
    for i in indexes:
        if found and int(found[-1].split("-")[-1]) == i - 1:
            found[-1] = f"{found[-1].split('-')[0]}-{i}"
        else:
            found.append(str(i))
    return ", ".join(found) or "none"


if __name__ == "__main__":
    raise SystemExit(main())
