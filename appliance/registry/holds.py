"""Audit holds: keep a model's evidence — artifacts, logged inputs, rejected bodies — from retention.

A hold covers one version, or every version of a model when no version is named. It lasts until an
admin releases it; placing and releasing are audited with who and why. Retention's deleting
statements (`store/retention_queries.py`) exclude held rows themselves: a held request's inputs stay
even when an unheld shadow shares its request id, and any hold on a model keeps its rejected bodies.
"""

from __future__ import annotations

from typing import Any

from appliance.clock import utc_now
from appliance.errors import NotFound, RegistryError
from appliance.registry.versions import get_version, require_model
from appliance.store import registry_queries as q
from appliance.store import retention_queries as rq
from appliance.store.connection import Store


def _subject(model_name: str, version: int | None) -> str:
    return f"hold:{model_name}" + ("" if version is None else f"/v{version}")


def place_hold(store: Store, model_name: str, version: int | None, reason: str, actor: str) -> dict[str, Any]:
    if not reason.strip():
        raise RegistryError("a hold needs a reason (a case or ticket); pass --reason TEXT")
    if version is None:
        require_model(store, model_name)
    else:
        get_version(store, model_name, version)
    at = utc_now()
    with store.transaction():
        hold_id = rq.insert_hold(store, model_name, version, reason.strip(), actor, at)
        q.insert_audit(store, at, actor, "hold.place", model_name, version, {"hold_id": hold_id},
                       subject=_subject(model_name, version), before=None,
                       after={"hold_id": hold_id, "active": True}, reason=reason.strip())
    return rq.hold(store, hold_id) or {}


def release_hold(store: Store, hold_id: int, reason: str, actor: str) -> dict[str, Any]:
    if not reason.strip():
        raise RegistryError("releasing a hold needs a reason; pass --reason TEXT")
    with store.transaction():
        found = rq.hold(store, hold_id)
        if found is None:
            raise NotFound(f"no hold {hold_id}; list them with `vigil holds list`")
        if found["released_at"] is not None:
            raise RegistryError(f"hold {hold_id} was already released by {found['released_by']}")
        at = utc_now()
        rq.release_hold(store, hold_id, actor, at, reason.strip())
        q.insert_audit(store, at, actor, "hold.release", found["model_name"], found["version"], {"hold_id": hold_id},
                       subject=_subject(found["model_name"], found["version"]),
                       before={"hold_id": hold_id, "active": True}, after={"hold_id": hold_id, "active": False},
                       reason=reason.strip())
    return rq.hold(store, hold_id) or {}


def list_holds(store: Store, include_released: bool) -> list[dict[str, Any]]:
    return rq.holds(store, include_released)
