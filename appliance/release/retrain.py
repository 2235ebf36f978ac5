"""Retraining a model from the spec of its current version: the fit runs in the training process
(`training/retraining.py`); the result is registered in one transaction, its trigger (schedule, drift,
event) recorded in the version's lineage, the `challenger` alias pointed at it for the promotion
workflow — never champion — and it is added to the model's open incidents.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable

from appliance.alerts.incidents import record_for_model
from appliance.core.blobs import BlobWriter
from appliance.errors import TrainingError
from appliance.home.context import AppContext
from appliance.registry.versions import require_model
from appliance.release.challenger import designate
from appliance.store import registry_queries as q
from appliance.training.champion import champion_info
from appliance.training.retraining import run_in_training_process, train_in_child
from appliance.training.trainer import register_prepared

TRIGGERS = ("schedule", "drift", "event")


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
