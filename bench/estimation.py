"""Label-free performance estimation benchmark: Vigil's CBPE and DLE against NannyML's, same data, same run.

    make bench-estimation     (or: .venv/bin/python bench/estimation.py [--json] [--markdown])

NannyML (in its own venv, .bench-venv-nannyml) writes its synthetic binary, multiclass and regression
data sets to Parquet and estimates them in chunks of 5,000 rows (CBPE: ROC AUC, accuracy, F1,
precision, recall; DLE: MAE, RMSE), fitting on each data set's reference. Vigil's estimators
(appliance/estimation/) fit on the same reference and estimate the same chunks; each Vigil
estimate is checked against NannyML's confidence band for that chunk and metric.

Speed: 1,000,000 analysis rows (the binary analysis set resampled, seeded) in chunks of 5,000, fit on
the 50,000-row reference and estimate, each side timed in process on data it already holds (file
reading is not timed), three runs each, medians reported. DLE is timed the same way on the regression
set resampled to 1,000,000 rows, and also its estimate alone with the loss models already fitted (the
appliance stores them with the reference). Goal: Vigil at least 10x faster than NannyML.
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
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PEER_PYTHON = ROOT / ".bench-venv-nannyml" / "bin" / "python"
CHUNK, BIG, RUNS = 5000, 1_000_000, 3
CLASSIFIER_METRICS = ["roc_auc", "accuracy", "f1", "precision", "recall"]
REGRESSION_METRICS = ["mae", "rmse"]
CAR_FEATURES = ["car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel", "transmission"]
MC_CLASSES = ["highstreet_card", "prepaid_card", "upmarket_card"]
PEER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd, nannyml as nml
warnings.filterwarnings("ignore")
out, chunk, big, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
found = {"version": nml.__version__, "bands": {}, "seconds": {}}

def bands(result, metrics):
    frame = result.filter(period="analysis").to_df()
    return {m: {"value": frame[(m, "value")].tolist(), "lower": frame[(m, "lower_confidence_boundary")].tolist(),
                "upper": frame[(m, "upper_confidence_boundary")].tolist(),
                "realized": frame[(m, "realized")].tolist()} for m in metrics}

ref, ana, gt = nml.load_synthetic_binary_classification_dataset()
ana = ana.merge(gt, on="id")
ref.to_parquet(f"{out}/binary_reference.parquet"); ana.to_parquet(f"{out}/binary_analysis.parquet")
metrics = ["roc_auc", "accuracy", "f1", "precision", "recall"]
def cbpe_binary():
    return nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="work_home_actual", problem_type="classification_binary",
                    metrics=metrics, chunk_size=chunk)
found["bands"]["binary"] = bands(cbpe_binary().fit(ref).estimate(ana), metrics)

ref, ana, gt = nml.load_synthetic_multiclass_classification_dataset()
ana = ana.merge(gt, on="id")
ref.to_parquet(f"{out}/multiclass_reference.parquet"); ana.to_parquet(f"{out}/multiclass_analysis.parquet")
proba = {c: f"y_pred_proba_{c}" for c in ["prepaid_card", "highstreet_card", "upmarket_card"]}
est = nml.CBPE(y_pred_proba=proba, y_pred="y_pred", y_true="y_true", problem_type="classification_multiclass",
               metrics=metrics, chunk_size=chunk)
found["bands"]["multiclass"] = bands(est.fit(ref).estimate(ana), metrics)

ref, ana, gt = nml.load_synthetic_car_price_dataset()
ana = ana.merge(gt, on="id")
ref.to_parquet(f"{out}/regression_reference.parquet"); ana.to_parquet(f"{out}/regression_analysis.parquet")
features = ["car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel", "transmission"]
def dle():
    return nml.DLE(feature_column_names=features, y_pred="y_pred", y_true="y_true", metrics=["mae", "rmse"], chunk_size=chunk)
found["bands"]["regression"] = bands(dle().fit(ref).estimate(ana), ["mae", "rmse"])

rng = np.random.default_rng(7)
bref = pd.read_parquet(f"{out}/binary_reference.parquet"); bana = pd.read_parquet(f"{out}/binary_analysis.parquet")
big_binary = bana.iloc[rng.integers(0, len(bana), big)].reset_index(drop=True)
big_binary.to_parquet(f"{out}/binary_big.parquet")
rref = pd.read_parquet(f"{out}/regression_reference.parquet"); rana = pd.read_parquet(f"{out}/regression_analysis.parquet")
big_regression = rana.iloc[rng.integers(0, len(rana), big)].reset_index(drop=True)
big_regression.to_parquet(f"{out}/regression_big.parquet")
for name, make, reference, analysis in (("cbpe", cbpe_binary, bref, big_binary), ("dle", dle, rref, big_regression)):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        make().fit(reference).estimate(analysis)
        times.append(time.perf_counter() - start)
    found["seconds"][name] = times
fitted, times = dle().fit(rref), []
for _ in range(runs):
    start = time.perf_counter()
    fitted.estimate(big_regression)
    times.append(time.perf_counter() - start)
found["seconds"]["dle_estimate"] = times
json.dump(found, open(f"{out}/nannyml.json", "w"))
"""


def vigil_binary(reference: pl.DataFrame, analysis: pl.DataFrame) -> dict[str, Any]:
    from appliance.estimation.cbpe import CBPE, ClassifierReference

    ref = ClassifierReference(reference["work_home_actual"].to_numpy().astype(np.int64),
                              reference["y_pred_proba"].to_numpy(), reference["y_pred"].to_numpy().astype(np.int64))
    return _chunks(CBPE.fit(ref), ref, [analysis["y_pred_proba"].to_numpy(),
                                        analysis["y_pred"].to_numpy().astype(np.int64)])


def vigil_multiclass(reference: pl.DataFrame, analysis: pl.DataFrame) -> dict[str, Any]:
    from appliance.estimation.cbpe import CBPE, ClassifierReference

    def outputs(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        scores = np.column_stack([frame[f"y_pred_proba_{c}"].to_numpy() for c in MC_CLASSES])
        codes = {c: i for i, c in enumerate(MC_CLASSES)}
        return scores, np.array([codes[v] for v in frame["y_pred"].to_list()])

    scores, predicted = outputs(reference)
    truth = np.array([MC_CLASSES.index(v) for v in reference["y_true"].to_list()])
    ref = ClassifierReference(truth, scores, predicted)
    return _chunks(CBPE.fit(ref), ref, list(outputs(analysis)))


def _encode(frame: pl.DataFrame, categories: dict[str, list[str]]) -> np.ndarray:
    """The inputs as the appliance codes them (appliance/estimation/reference.encode)."""
    from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
    from appliance.estimation.reference import encode

    return encode(frame, [Feature(n, CATEGORICAL if n in categories else NUMERIC) for n in CAR_FEATURES], categories)


def vigil_regression(reference: pl.DataFrame, analysis: pl.DataFrame, dle: Any = None) -> dict[str, Any]:
    """Fit DLE on the reference (unless `dle` is given: a stored fit) and estimate the analysis chunks."""
    from appliance.estimation.dle import DLE

    categories = {c: sorted(reference[c].unique().to_list()) for c in ("fuel", "transmission")}
    ref = regression_reference(reference, categories)
    dle = dle or DLE.fit(ref)
    return _chunks(dle, ref, [_encode(analysis, categories), analysis["y_pred"].to_numpy().astype(np.float64)])


def regression_reference(reference: pl.DataFrame, categories: dict[str, list[str]]) -> Any:
    from appliance.estimation.dle import RegressionReference

    return RegressionReference(reference["y_true"].to_numpy().astype(np.float64),
                               reference["y_pred"].to_numpy().astype(np.float64), _encode(reference, categories),
                               tuple(c in categories for c in CAR_FEATURES))


def _chunks(estimator: Any, reference: Any, arrays: list[np.ndarray]) -> dict[str, Any]:
    """Estimates and bands per chunk of CHUNK rows (alert bands from the reference cut the same way)."""
    from appliance.estimation.bands import SAMPLING_ERROR_RANGE
    from appliance.monitoring.chunking import parse_chunk
    from appliance.monitoring.estimation_chunks import row_slices

    slices = row_slices(parse_chunk(f"rows:{CHUNK}"), len(arrays[-1]))
    estimator.alert_bands(reference, row_slices(parse_chunk(f"rows:{CHUNK}"), reference.rows))
    found: dict[str, dict[str, list[float]]] = {}
    losses = estimator.losses(*arrays) if hasattr(estimator, "losses") else None  # DLE: every row once
    for a, b in slices:
        values = estimator.from_losses(*(x[a:b] for x in losses)) if losses is not None \
            else estimator.estimate(*(x[a:b] for x in arrays))
        for metric, (value, error) in values.items():
            entry = found.setdefault(metric, {"value": [], "lower": [], "upper": []})
            entry["value"].append(value)
            entry["lower"].append(value - SAMPLING_ERROR_RANGE * error)
            entry["upper"].append(value + SAMPLING_ERROR_RANGE * error)
    return found


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Per metric: chunks, how many of Vigil's estimates lie inside NannyML's band, the largest difference."""
    report = {}
    for metric, band in theirs.items():
        mine = np.asarray(ours[metric]["value"])
        value, low, high = (np.asarray(band[k], dtype=np.float64) for k in ("value", "lower", "upper"))
        inside = (mine >= low - 1e-12) & (mine <= high + 1e-12)
        report[metric] = {"chunks": len(mine), "inside": int(inside.sum()),
                          "max_abs_diff": float(np.max(np.abs(mine - value))),
                          "max_diff_in_band_widths": float(np.max(np.abs(mine - value) / np.maximum(high - low, 1e-12)))}
    return report


def time_vigil(work: Path) -> dict[str, list[float]]:
    reference, analysis = pl.read_parquet(work / "binary_reference.parquet"), pl.read_parquet(work / "binary_big.parquet")
    rref, rbig = pl.read_parquet(work / "regression_reference.parquet"), pl.read_parquet(work / "regression_big.parquet")
    from appliance.estimation.dle import DLE

    times: dict[str, list[float]] = {"cbpe": [], "dle": [], "dle_estimate": []}
    stored = DLE.fit(regression_reference(rref, {c: sorted(rref[c].unique().to_list()) for c in ("fuel", "transmission")}))
    for _ in range(RUNS):
        start = time.perf_counter()
        vigil_binary(reference, analysis)
        times["cbpe"].append(time.perf_counter() - start)
        start = time.perf_counter()
        vigil_regression(rref, rbig)
        times["dle"].append(time.perf_counter() - start)
        start = time.perf_counter()
        vigil_regression(rref, rbig, stored)
        times["dle_estimate"].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        done = subprocess.run([str(PEER_PYTHON), "-c", PEER, str(work), str(CHUNK), str(BIG), str(RUNS)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        peer = json.loads((work / "nannyml.json").read_text())
        runs = {"binary": vigil_binary, "multiclass": vigil_multiclass, "regression": vigil_regression}
        agreement = {name: compare(run(pl.read_parquet(work / f"{name}_reference.parquet"),
                                       pl.read_parquet(work / f"{name}_analysis.parquet")), peer["bands"][name])
                     for name, run in runs.items()}
        ours = time_vigil(work)
    speed = {name: {"vigil_s": statistics.median(ours[name]), "nannyml_s": statistics.median(peer["seconds"][name]),
                    "speedup": statistics.median(peer["seconds"][name]) / statistics.median(ours[name])}
             for name in ("cbpe", "dle", "dle_estimate")}
    result = {"nannyml": peer["version"], "chunk_rows": CHUNK, "big_rows": BIG, "agreement": agreement, "speed": speed}
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.markdown:
        print(markdown(result))
    else:
        print(json.dumps(result, indent=2))
    inside = all(m["inside"] == m["chunks"] for d in agreement.values() for m in d.values())
    fast = all(speed[name]["speedup"] >= 10 for name in ("cbpe", "dle"))
    return 0 if inside and fast else 1


def markdown(result: dict[str, Any]) -> str:
    lines = [f"NannyML {result['nannyml']}, chunks of {result['chunk_rows']:,} rows.", "",
             "| data set | metric | chunks | Vigil inside NannyML's band | largest difference | in band widths |",
             "|---|---|---:|---:|---:|---:|"]
    for name, metrics in result["agreement"].items():
        for metric, m in metrics.items():
            lines.append(f"| {name} | {metric} | {m['chunks']} | {m['inside']} | {m['max_abs_diff']:.4f} | "
                         f"{m['max_diff_in_band_widths']:.3f} |")
    lines += ["", f"| {result['big_rows']:,} rows | Vigil (s) | NannyML (s) | speed-up |", "|---|---:|---:|---:|"]
    label = {"cbpe": "CBPE fit + estimate", "dle": "DLE fit + estimate", "dle_estimate": "DLE estimate (fitted)"}
    for name, s in result["speed"].items():
        lines.append(f"| {label[name]} | {s['vigil_s']:.2f} | {s['nannyml_s']:.2f} | {s['speedup']:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
