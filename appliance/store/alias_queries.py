"""SQL of the alias table read whole: every model's aliases at once, what the daemon's routes follow.

Reads only; the statements that write an alias live in `release_queries` (the release door).
"""

from __future__ import annotations

from appliance.store.connection import Store

AliasRows = dict[str, dict[str, tuple[int, float | None]]]


def all_aliases(store: Store) -> AliasRows:
    """{model: {alias: (version, traffic_percent)}} for every model with an alias."""
    found: AliasRows = {}
    for model_name, alias, version, percent in store.execute(
            "SELECT model_name, alias, version, traffic_percent FROM aliases"):
        found.setdefault(model_name, {})[alias] = (version, percent)
    return found
