"""The one place an alias is written: alias, traffic share, deployment row, audit row and incident
note in one transaction. Only the release package calls it."""

from __future__ import annotations

from appliance.alerts.incidents import record_for_model
from appliance.clock import utc_now
from appliance.errors import ReleaseError
from appliance.registry.aliases import ALIASES
from appliance.registry.versions import servable_version
from appliance.store import registry_queries as q
from appliance.store import release_queries as rq
from appliance.store.connection import Store

KINDS = ("move", "rollback")


def check_alias(alias: str, percent: float | None) -> None:
    """Refuse an alias that does not exist, and a traffic share given for anything but a canary."""
    if alias not in ALIASES:
        raise ReleaseError(f"unknown alias '{alias}'; use one of {', '.join(ALIASES)}")
    if percent is not None and (alias != "canary" or not 0 < percent <= 100):
        raise ReleaseError("--percent applies to the canary alias only, between 0 (exclusive) and 100")


def already_there(store: Store, model_name: str, alias: str, number: int, percent: float | None) -> bool:
    """Whether pointing `alias` at `number` would change nothing (a canary's new share is a change)."""
    return q.aliases(store, model_name).get(alias) == number and percent is None


def apply(store: Store, model_name: str, alias: str, number: int, *, actor: str, reason: str,
          percent: float | None = None, kind: str = "move", why: str | None = None) -> int | None:
    """Point `alias` at `number`; returns the version it pointed at before (None if unset).

    `percent` is the share of requests a canary answers (default 10); `why` says why this version
    (a rollback's choice), kept in the audit row and the incident note."""
    check_alias(alias, percent)
    if not reason.strip():
        raise ReleaseError("an alias change needs a reason; pass --reason TEXT")
    assert kind in KINDS, kind
    servable_version(store, model_name, number)
    at = utc_now()
    with store.transaction():
        previous = q.aliases(store, model_name).get(alias)
        if already_there(store, model_name, alias, number, percent):
            raise ReleaseError(f"{alias} of '{model_name}' is already version {number}")
        rq.set_alias(store, model_name, alias, number, actor, at, percent)
        rq.insert_deployment(store, model_name, alias, previous, number, actor, at, reason, kind)
        q.insert_audit(store, at, actor, "alias.rollback" if kind == "rollback" else "alias.move", model_name, number,
                       {"alias": alias, "from_version": previous, "to_version": number, "reason": reason,
                        "percent": percent, **({"why": why} if why else {})},
                       subject=f"alias:{model_name}@{alias}",
                       before=None if previous is None else {"version": previous},
                       after={"version": number, "percent": percent}, reason=reason)
        if alias == "champion":  # a canary or shadow of the new champion has graduated
            for trial in ("canary", "shadow"):
                if q.aliases(store, model_name).get(trial) == number:
                    unset(store, model_name, trial, actor=actor, reason=f"v{number} is now champion")
        record_for_model(store, model_name, "rollback" if kind == "rollback" else "deployment", actor,
                         f"{alias}: v{previous if previous is not None else '-'} -> v{number} ({reason})"
                         + (f"; {why}" if why else ""))
    return previous


def unset(store: Store, model_name: str, alias: str, *, actor: str, reason: str) -> int | None:
    """Unset an alias (champion cannot be unset); returns the version it pointed at."""
    if alias == "champion":
        raise ReleaseError("champion cannot be removed; roll back or promote another version")
    at = utc_now()
    with store.transaction():
        previous = q.aliases(store, model_name).get(alias)
        if previous is None:
            return None
        rq.delete_alias(store, model_name, alias)
        rq.insert_deployment(store, model_name, alias, previous, None, actor, at, reason, "remove")
        q.insert_audit(store, at, actor, "alias.remove", model_name, previous, {"alias": alias, "reason": reason},
                       subject=f"alias:{model_name}@{alias}", before={"version": previous}, after=None, reason=reason)
        record_for_model(store, model_name, "rollback", actor, f"{alias} v{previous} removed ({reason})")
    return previous
