"""Retraining a model from the spec of its current version, in a separate process.

The child process snapshots the spec's source again (fresh data), fits, evaluates, compares with
the champion and writes the artifact and plan files; it never opens the store (the daemon holds its
lock). It dies with the daemon, even while paused (`child_setup.py`), runs at the lowest CPU priority from
its first import on (`idle_priority.py`), and on one thread (OpenMP and BLAS limited to one) so that
scoring keeps its latency. The parent registers the
result in one transaction, records the trigger (schedule, drift, event) in the version's lineage,
points the `challenger` alias at it for the promotion workflow — never at champion — and adds it to
the model's open incidents.
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

from appliance.alerts.incidents import record_for_model
from appliance.config import TrainingConfig
from appliance.context import AppContext
from appliance.errors import TrainingError
from appliance.release.challenger import designate
from appliance.registry.blobs import BlobWriter
from appliance.registry.versions import NewVersion, require_model
from appliance.store import registry_queries as q
from appliance.training.champion import ChampionInfo, champion_info
from appliance.training.child_setup import prepare
from appliance.training.trainer import register_prepared

TRIGGERS = ("schedule", "drift", "event")
T = TypeVar("T")


def retrain(ctx: AppContext, model_name: str, *, trigger: str, reason: str, actor: str,
            write_lock: Any = None, busy: Callable[[], bool] | None = None, busy_share: float = 1.0) -> dict[str, Any]:
    """Retrain in a separate process; with `busy` (the daemon: is it answering requests?), the process
    runs only `busy_share` of the time while busy() holds, paused with SIGSTOP in between."""
    if trigger not in TRIGGERS:
        raise TrainingError(f"retrain trigger must be one of {', '.join(TRIGGERS)}")
    require_model(ctx.store, model_name)
    info = champion_info(ctx.store, model_name)
    source = info.row if info.row is not None else (
        q.version(ctx.store, model_name, info.latest_version) if info.latest_version is not None else None)
    if source is None or not source.get("spec_toml"):
        raise TrainingError(f"model '{model_name}' has no trained version whose spec could be reused; "
                            "train it with `vigil train --spec FILE` first")
    (new, created), paused = run_in_training_process(
        train_in_child, (str(ctx.home.root), ctx.config.training, source["spec_toml"], source.get("spec_path"), info,
                         actor, reason, trigger), busy=busy, busy_share=busy_share)
    writer = BlobWriter(ctx.home.root)
    writer.created = [Path(p) for p in created]
    with write_lock or contextlib.nullcontext():
        registered = register_prepared(ctx.store, writer, new)
        named = designate(ctx, model_name, registered.version, actor=actor, reason=f"retrained ({trigger}): {reason}")
        with ctx.store.transaction():
            record_for_model(ctx.store, model_name, "retrain", actor,
                             f"v{registered.version} retrained ({trigger}): {reason}; "
                             + ("now challenger" if named["status"] == "applied" else
                                f"challenger on approval of request {named['request_id']}"))
    return {**registered.as_dict(), "trigger": trigger, "alias": "challenger", "request_id": named["request_id"],
            "request_status": named["status"], "from_version": source["version"],
            "paused_s": round(paused, 1)}


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
