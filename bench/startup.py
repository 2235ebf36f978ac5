"""Startup benchmark for the `vigil` CLI.

Times, as separate processes, the interpreter floor (`python -c pass` with the same
interpreter), `vigil --help` and `vigil models --home TMP` against a fresh temporary home,
and checks the medians against the startup targets. If `mlflow` is importable by the same
interpreter, `mlflow --help` is timed as a peer.

    .venv/bin/python bench/startup.py [--runs N] [--warmup N] [--json]

Always exits 0 unless the benchmark itself cannot run: this measures, it does not gate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

# Targets on the median wall time, in seconds.
TARGETS = {"vigil --help": 0.3, "vigil models": 0.8}


def _bin_dir() -> Path:
    """The directory holding this interpreter and its console scripts (the venv's bin/)."""
    return Path(sys.executable).parent


def _script(name: str) -> Path | None:
    path = _bin_dir() / name
    return path if path.exists() else None


def _importable(module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([sys.executable, "-c", code], env=_env()).returncode == 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("VIGIL_HOME", "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"):
        env.pop(var, None)
    return env


def _run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: {err}")
    return elapsed


def _p90(samples: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _stats(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "p90": _p90(samples), "min": min(samples)}


# The peer's equivalent of `vigil models`: list registered models from a local SQLite registry.
PEER_LISTING = (
    "import sys; from mlflow import MlflowClient; "
    "c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1]); "
    "print(len(c.search_registered_models()))"
)
DEFAULT_PEER = Path(__file__).resolve().parents[1] / ".bench-venv" / "bin" / "python"


def measure(runs: int, warmup: int, peer_python: Path | None = None) -> dict:
    vigil = _script("vigil")
    if vigil is None:
        raise RuntimeError(f"no `vigil` script next to {sys.executable}; run `make install` first")
    env = _env()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    home = tmp / "home"
    try:
        init = subprocess.run(
            [str(vigil), "init", "--home", str(home)], capture_output=True, text=True, env=env
        )
        if init.returncode != 0:
            raise RuntimeError(f"`vigil init` failed: {init.stderr.strip()}")

        commands: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "vigil --help": [str(vigil), "--help"],
            "vigil models": [str(vigil), "models", "--home", str(home)],
        }
        peer_installed = peer_python is not None and (peer_python.parent / "mlflow").exists()
        if peer_installed:
            assert peer_python is not None
            db = tmp / "mlflow.db"
            listing = [str(peer_python), "-c", PEER_LISTING, f"sqlite:///{db}"]
            subprocess.run(listing, capture_output=True, env=env, check=True)  # creates the tables once
            commands["mlflow --help"] = [str(peer_python.parent / "mlflow"), "--help"]
            commands["mlflow list models"] = listing

        samples: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(warmup + runs):
            # Interleave the commands so drift in machine load affects all of them alike.
            for name, cmd in commands.items():
                t = _run_once(cmd, env)
                if i >= warmup:
                    samples[name].append(t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    floor = _stats(samples["python -c pass"])
    results = {}
    for name, s in samples.items():
        st = _stats(s)
        entry: dict = {**st, "x_floor": {k: st[k] / floor[k] for k in st}, "samples": s}
        if name in TARGETS:
            entry["target_median"] = TARGETS[name]
            entry["pass"] = st["median"] < TARGETS[name]
        results[name] = entry

    peer = None
    if peer_installed:
        peer = {
            "name": "mlflow",
            "installed": True,
            "vigil_help_over_mlflow_help": results["vigil --help"]["median"] / results["mlflow --help"]["median"],
            "vigil_models_over_mlflow_list": results["vigil models"]["median"]
            / results["mlflow list models"]["median"],
        }
    else:
        peer = {"name": "mlflow", "installed": False}

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": runs,
        "warmup": warmup,
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "executable": sys.executable,
        },
        "results": results,
        "peer": peer,
        "all_pass": all(r["pass"] for r in results.values() if "pass" in r),
    }


def report(data: dict) -> str:
    m = data["machine"]
    lines = [
        f"vigil startup benchmark: {data['runs']} runs after {data['warmup']} warm-ups, "
        f"{m['nproc']} CPUs, {m['implementation']} {m['python']}",
        "",
        f"{'command':<20} {'median s':>9} {'p90 s':>8} {'min s':>8} {'x floor':>8}  target (median)",
        "-" * 72,
    ]
    for name, r in data["results"].items():
        if "pass" in r:
            verdict = f"< {r['target_median']:.1f} s  {'PASS' if r['pass'] else 'FAIL'}"
        elif name == "python -c pass":
            verdict = "(interpreter floor)"
        else:
            verdict = "(peer)"
        lines.append(
            f"{name:<20} {r['median']:>9.3f} {r['p90']:>8.3f} {r['min']:>8.3f} "
            f"{r['x_floor']['median']:>7.1f}x  {verdict}"
        )
    lines.append("")
    peer = data["peer"]
    if peer["installed"]:
        lines.append(
            f"peer: vigil --help median is {peer['vigil_help_over_mlflow_help']:.2f}x "
            "the median of mlflow --help"
        )
        lines.append(
            f"peer: vigil models median is {peer['vigil_models_over_mlflow_list']:.2f}x "
            "the median of listing MLflow's registered models (SQLite registry)"
        )
    else:
        lines.append("peer: no MLflow venv (make bench builds .bench-venv); the peer was not timed")
    lines.append(
        "result: " + ("PASS - all startup targets met" if data["all_pass"] else "FAIL - a startup target was missed")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `vigil` CLI startup against the interpreter floor.")
    parser.add_argument("--runs", type=int, default=25, help="timed runs per command (default 25)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up runs per command (default 3)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PEER,
                        help="python of a venv with MLflow (default: .bench-venv/bin/python, built by make bench)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    try:
        peer = args.peer_python if args.peer_python.exists() else None
        data = measure(args.runs, args.warmup, peer)
    except RuntimeError as e:
        sys.stderr.write(f"startup benchmark: error: {e}\n")
        return 1
    print(json.dumps(data, indent=2) if args.json else report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
