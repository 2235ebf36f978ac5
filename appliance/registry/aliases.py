"""Aliases (champion, challenger, canary, shadow) point at versions. Reading them is here; every
change goes through the release package (appliance/release/), the one door."""

from __future__ import annotations

from appliance.store import registry_queries as q
from appliance.store.connection import Store

ALIASES = ("champion", "challenger", "canary", "shadow")


def current_aliases(store: Store, model_name: str) -> dict[str, int]:
    return q.aliases(store, model_name)
