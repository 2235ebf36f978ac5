"""What a version costs: training CPU and wall time, its size loaded and on disk, and CPU seconds per
1,000 predictions — measured once at registration (single-row predicts through the pipeline) and
then for real around every predict call while it serves (the daemon's rollup job stores the totals)."""

from __future__ import annotations

import pickle
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import polars as pl

BENCH_ROWS = 50


@dataclass
class Measured:
    cpu_s: float = 0.0
    wall_s: float = 0.0
    _cpu: float = field(default=0.0, repr=False)
    _wall: float = field(default=0.0, repr=False)


@contextmanager
def measured() -> Iterator[Measured]:
    """CPU time of this process (all its threads) and wall time of the block."""
    found = Measured(_cpu=time.process_time(), _wall=time.perf_counter())
    try:
        yield found
    finally:
        found.cpu_s = time.process_time() - found._cpu
        found.wall_s = time.perf_counter() - found._wall


def memory_bytes(model: Any) -> int:
    """The model's size in memory, estimated by its pickled size (arrays dominate both)."""
    return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


def cpu_per_1k(model: Any, task: str, inputs: pl.DataFrame) -> float | None:
    """CPU seconds per 1,000 single-row predictions on up to 50 rows of `inputs`, on one thread (as the
    daemon predicts): with OpenMP workers the calling thread's CPU time would count their spin-waits,
    which grow with whatever else the machine runs, and miss their work."""
    from threadpoolctl import threadpool_limits

    rows = inputs.head(BENCH_ROWS)
    if rows.height == 0:
        return None
    method = model.predict_proba if task == "binary" else model.predict
    with threadpool_limits(limits=1):
        method(rows[0])  # warm-up: first-call costs are not per-prediction costs
        started = time.thread_time()
        for i in range(rows.height):
            method(rows[i])
        return float((time.thread_time() - started) / rows.height * 1000)


def describe(cost: dict[str, Any] | None, price: float | None) -> str:
    """One line: training time, CPU per 1,000 predictions (serving once measured, else the bench),
    memory and artifact size, and money when a CPU-hour price is set."""
    if not cost:
        return "not measured"
    parts = []
    if cost.get("training_cpu_s") is not None:
        parts.append(f"training {cost['training_cpu_s']:.1f} CPU s ({cost['training_wall_s']:.1f} s wall)")
    if cost.get("cpu_s_per_1k") is not None:
        source = "serving" if (cost.get("serving_rows") or 0) >= 1000 else "measured at registration"
        parts.append(f"{cost['cpu_s_per_1k']:.3f} CPU s per 1,000 predictions ({source})")
    parts.append(f"{cost['memory_bytes'] / 1e6:.1f} MB in memory, {cost['artifact_bytes'] / 1e6:.1f} MB artifact")
    if price is not None:
        money = []
        if cost.get("training_cpu_s") is not None:
            money.append(f"training {cost['training_cpu_s'] / 3600 * price:.4f}")
        if cost.get("cpu_s_per_1k") is not None:
            money.append(f"1,000 predictions {cost['cpu_s_per_1k'] / 3600 * price:.6f}")
        parts.append(f"at {price:g} per CPU-hour: " + ", ".join(money))
    return "; ".join(parts)


def cost_row(model: Any, task: str, inputs: pl.DataFrame, training: Measured | None,
             artifact_bytes: int) -> dict[str, Any]:
    return {"training_cpu_s": training.cpu_s if training else None,
            "training_wall_s": training.wall_s if training else None,
            "artifact_bytes": artifact_bytes, "memory_bytes": memory_bytes(model),
            "bench_cpu_s_per_1k": cpu_per_1k(model, task, inputs)}
