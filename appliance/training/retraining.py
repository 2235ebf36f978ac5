"""Retraining a model from the spec of its current version, in a separate process.

The child process snapshots the spec's source again (fresh data), fits, evaluates, compares with
the champion and writes the artifact and plan files; it never opens the store (the daemon holds its
lock). It dies with the daemon, even while paused (`child_setup.py`), runs at the lowest CPU priority from
its first import on (`idle_priority.py`), and on one thread (OpenMP and BLAS limited to one) so that
scoring keeps its latency. The parent registers the
result (`release/retrain.py`: registered in one transaction with the trigger in the version's
lineage, named `challenger` for the promotion workflow — never champion — and added to the model's
open incidents).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, TypeVar

from appliance.config import TrainingConfig
from appliance.core.blobs import BlobWriter
from appliance.core.child_setup import prepare
from appliance.core.records import NewVersion
from appliance.training.champion import ChampionInfo

T = TypeVar("T")


def run_in_training_process(work: Callable[..., T], args: tuple[Any, ...], *, busy: Callable[[], bool] | None,
                            busy_share: float, slice_s: float = 0.05) -> tuple[T, float]:
    """`work(*args)` in a spawned low-priority process; its result and the seconds it was paused.

    While `busy()` holds, the process is stopped for `slice_s * (1 - busy_share) / busy_share` after
    each `slice_s` it runs: on two cores even a `SCHED_IDLE` process slows the daemon through the
    hardware the cores share, so under load it also gets less of it."""
    paused = 0.0
    with training_pool() as pool:
        pid = pool.submit(os.getpid).result()
        future = pool.submit(work, *args)
        while True:
            try:
                return future.result(timeout=slice_s), paused
            except FutureTimeout:
                pass
            if busy is None or busy_share >= 1 or not busy():
                continue
            pause = slice_s * (1 - busy_share) / busy_share
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            try:
                time.sleep(pause)
                paused += pause
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


def training_pool() -> ProcessPoolExecutor:
    """One spawned process that dies with this one (even while paused) and lowers its priority before
    it imports anything heavy (`child_setup.py`). Its process starts at the first `submit`, in the
    calling thread: the parent-death signal follows that thread, which waits for the result."""
    return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), initializer=prepare,
                               initargs=(os.getpid(),))


def train_in_child(home_root: str, settings: TrainingConfig, spec_text: str, spec_path: str | None,
                   info: ChampionInfo, actor: str, reason: str, trigger: str) -> tuple[NewVersion, list[str]]:
    """Runs in the child process (already at the lowest priority): everything but the registration."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # one core at most: the daemon's scoring keeps the other
        return _train(home_root, settings, spec_text, spec_path, info, actor, reason, trigger)


def _train(home_root: str, settings: TrainingConfig, spec_text: str, spec_path: str | None,
           info: ChampionInfo, actor: str, reason: str, trigger: str) -> tuple[NewVersion, list[str]]:
    from appliance.training.cost import measured
    from appliance.training.dataset import choose_classes, choose_positive, split_by_time
    from appliance.training.snapshot import take_snapshot
    from appliance.training.spec import parse_spec
    from appliance.training.trainer import fit, prepare_version

    writer = BlobWriter(Path(home_root))
    try:
        loaded = parse_spec(spec_text, "the version's spec", Path(spec_path) if spec_path else None)
        snapshot, frame = take_snapshot(writer, loaded)
        split = split_by_time(frame, loaded.spec.split)
        positive = choose_positive(frame[loaded.spec.target], loaded.spec) if loaded.spec.task == "binary" else None
        classes = choose_classes(frame[loaded.spec.target], loaded.spec) if loaded.spec.task == "multiclass" else None
        with measured() as training:
            model = fit(loaded.spec, split.train, positive, classes)
        new = prepare_version(Path(home_root), settings, info, writer, loaded, snapshot, split, model,
                              positive=positive, origin="trained", actor=actor, reason=reason,
                              imported_from=None, retrain_trigger=trigger, training=training, classes=classes)
        return new, [str(p) for p in writer.created]
    except BaseException:
        writer.discard()
        raise
