"""Aliases (champion, challenger, canary, shadow) point at versions; every move is history and audit."""

from __future__ import annotations

from typing import Any

from appliance.alerts.incidents import record_for_model
from appliance.clock import utc_now
from appliance.errors import RegistryError
from appliance.registry.versions import servable_version
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q
from appliance.store.connection import Store

ALIASES = ("champion", "challenger", "canary", "shadow")


def move_alias(store: Store, model_name: str, alias: str, number: int, *, actor: str, reason: str,
               percent: float | None = None, rollback: bool = False) -> int | None:
    """Point `alias` at `number`; returns the version it pointed at before (None if unset).

    `percent` is the share of requests a canary answers (default 10).
    """
    if alias not in ALIASES:
        raise RegistryError(f"unknown alias '{alias}'; use one of {', '.join(ALIASES)}")
    if percent is not None and (alias != "canary" or not 0 < percent <= 100):
        raise RegistryError("--percent applies to the canary alias only, between 0 (exclusive) and 100")
    if not reason.strip():
        raise RegistryError("an alias change needs a reason; pass --reason TEXT")
    servable_version(store, model_name, number)
    at = utc_now()
    with store.transaction():
        previous = q.aliases(store, model_name).get(alias)
        if previous == number and percent is None:
            raise RegistryError(f"{alias} of '{model_name}' is already version {number}")
        q.set_alias(store, model_name, alias, number, actor, at)
        pq.set_alias_percent(store, model_name, alias, percent)
        q.insert_deployment(store, model_name, alias, previous, number, actor, at, reason)
        q.insert_audit(store, at, actor, "alias.rollback" if rollback else "alias.move", model_name, number,
                       {"alias": alias, "from_version": previous, "to_version": number, "reason": reason,
                        "percent": percent},
                       subject=f"alias:{model_name}@{alias}",
                       before=None if previous is None else {"version": previous},
                       after={"version": number, "percent": percent}, reason=reason)
        if alias == "champion":  # a canary or shadow of the new champion has graduated
            for trial in ("canary", "shadow"):
                if q.aliases(store, model_name).get(trial) == number:
                    remove_alias(store, model_name, trial, actor=actor, reason=f"v{number} is now champion")
        kind = "rollback" if rollback else "deployment"
        record_for_model(store, model_name, kind, actor,
                         f"{alias}: v{previous if previous is not None else '-'} -> v{number} ({reason})")
    return previous


def remove_alias(store: Store, model_name: str, alias: str, *, actor: str, reason: str) -> int | None:
    """Unset an alias (champion cannot be unset); returns the version it pointed at."""
    if alias == "champion":
        raise RegistryError("champion cannot be removed; roll back or promote another version")
    at = utc_now()
    with store.transaction():
        previous = q.aliases(store, model_name).get(alias)
        if previous is None:
            return None
        store.execute("DELETE FROM aliases WHERE model_name = ? AND alias = ?", [model_name, alias])
        q.insert_deployment(store, model_name, alias, previous, None, actor, at, reason)
        q.insert_audit(store, at, actor, "alias.remove", model_name, previous, {"alias": alias, "reason": reason},
                       subject=f"alias:{model_name}@{alias}", before={"version": previous}, after=None, reason=reason)
        record_for_model(store, model_name, "rollback", actor, f"{alias} v{previous} removed ({reason})")
    return previous


def rollback_plan(store: Store, model_name: str, to: int | None) -> dict[str, Any]:
    """Which version champion would move from and to, without moving it (refusing as roll_back would)."""
    from appliance.registry.versions import require_model, servable_version

    require_model(store, model_name)
    current = q.aliases(store, model_name).get("champion")
    if current is None:
        raise RegistryError(f"model '{model_name}' has no champion to roll back")
    target = to if to is not None else q.previous_champion(store, model_name, current)
    if target is None:
        raise RegistryError(f"champion v{current} of '{model_name}' replaced no earlier version; "
                            "pass --to VERSION to choose one")
    servable_version(store, model_name, target)
    return {"model": model_name, "from_version": current, "to_version": target}


def roll_back(store: Store, model_name: str, *, to: int | None, actor: str, reason: str) -> dict[str, Any]:
    """Point champion back at the version it replaced (or at `to`); recorded as a rollback."""
    plan = rollback_plan(store, model_name, to)
    move_alias(store, model_name, "champion", plan["to_version"], actor=actor, reason=reason, rollback=True)
    return plan


def current_aliases(store: Store, model_name: str) -> dict[str, int]:
    return q.aliases(store, model_name)
