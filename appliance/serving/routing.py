"""Which version answers: the champion, a canary for a share of requests, a shadow scoring alongside.

Each model's routes are one immutable `Routes` value, replaced whole when an alias changes, so the
next request sees the new version and a request in flight finishes on the version it started with.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass
from typing import Callable

from appliance.errors import ModelNotServed
from appliance.serving.batching import Predictor
from appliance.serving.model_cache import ModelCache

DEFAULT_CANARY_PERCENT = 10.0


@dataclass(frozen=True, slots=True)
class Routes:
    champion: Predictor
    canary: Predictor | None = None
    canary_percent: float = 0.0
    shadow: Predictor | None = None

    def choose(self, routing_key: str | None) -> tuple[str, Predictor]:
        """('champion' | 'canary', predictor); sticky per routing key when one is given."""
        if self.canary is None or self.canary_percent <= 0:
            return "champion", self.champion
        if routing_key is not None:
            bucket = int.from_bytes(hashlib.sha256(routing_key.encode()).digest()[:8], "big") % 10000 / 100
        else:
            bucket = random.random() * 100
        return ("canary", self.canary) if bucket < self.canary_percent else ("champion", self.champion)

    def serving(self) -> dict[int, tuple[str, Predictor]]:
        """The versions answering traffic, by version: the champion, and the canary while it has a share.
        A shadow never answers a client, so it is not among them."""
        found = {self.champion.loaded.version: ("champion", self.champion)}
        if self.canary is not None and self.canary_percent > 0:
            found.setdefault(self.canary.loaded.version, ("canary", self.canary))
        return found

    def pinned(self, version: int) -> tuple[str, Predictor]:
        """(route, predictor) of `version` when it answers traffic (a client asked for it by number)."""
        found = self.serving().get(version)
        if found is None:
            raise ModelNotServed(f"version {version} of model '{self.champion.loaded.model_name}' does not answer "
                                 f"traffic; the versions that do: {', '.join(map(str, sorted(self.serving())))}")
        return found


@dataclass(frozen=True, slots=True)
class AliasState:
    champion: int | None
    canary: int | None
    canary_percent: float | None
    shadow: int | None


class Router:
    def __init__(self, cache: ModelCache, read_aliases: Callable[[], dict[str, AliasState]]) -> None:
        self._cache = cache
        self._read_aliases = read_aliases
        self._routes: dict[str, Routes] = {}
        self._refresh_lock = threading.Lock()

    def routes(self, model_name: str) -> Routes:
        found = self._routes.get(model_name)
        if found is None:
            raise ModelNotServed(f"model '{model_name}' is not served (unknown, or it has no champion); "
                                 "GET /readyz lists the served models, `vigil models` every model")
        return found

    @property
    def models(self) -> dict[str, Routes]:
        return dict(self._routes)

    def refresh(self) -> None:
        """Load what the aliases point at, then swap every model's routes in one assignment."""
        with self._refresh_lock:
            states = self._read_aliases()
            routes: dict[str, Routes] = {}
            for model_name, state in states.items():
                if state.champion is None:
                    continue
                routes[model_name] = Routes(
                    champion=self._cache.get(model_name, state.champion),
                    canary=self._cache.get(model_name, state.canary) if state.canary is not None else None,
                    canary_percent=state.canary_percent if state.canary_percent is not None else DEFAULT_CANARY_PERCENT,
                    shadow=self._cache.get(model_name, state.shadow) if state.shadow is not None else None,
                )
            self._cache.pin({p.loaded.key for r in routes.values() for p in (r.champion, r.canary, r.shadow) if p})
            self._routes = routes
