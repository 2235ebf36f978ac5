"""Loaded versions kept in memory, least recently used first out, within a memory bound.

Versions that an alias points at are pinned: they stay loaded whatever the bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from appliance.serving.batching import Predictor

Key = tuple[str, int]


class ModelCache:
    def __init__(self, load: Callable[[str, int], Predictor], max_bytes: int) -> None:
        self._load = load
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Predictor] = OrderedDict()
        self._pinned: set[Key] = set()
        self._lock = threading.Lock()

    def get(self, model_name: str, version: int) -> Predictor:
        key = (model_name, version)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        loaded = self._load(model_name, version)  # slow: outside the lock
        with self._lock:
            found = self._entries.setdefault(key, loaded)
            self._entries.move_to_end(key)
            self._evict()
        if found is not loaded:
            loaded.close()
        return found

    def drop(self, model_name: str) -> None:
        """Forget a model's loaded versions (its contract changed); the next refresh reloads them."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == model_name]:
                self._entries.pop(key).close()

    def pin(self, keys: set[Key]) -> None:
        with self._lock:
            self._pinned = set(keys)
            self._evict()

    @property
    def loaded(self) -> list[Key]:
        with self._lock:
            return list(self._entries)

    @property
    def engines(self) -> list[tuple[str, int, str]]:
        """(model, version, what computes its answers) for each loaded version."""
        with self._lock:
            return [(m, v, p.loaded.engine) for (m, v), p in self._entries.items()]

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(p.loaded.size_bytes for p in self._entries.values())

    def _evict(self) -> None:
        total = sum(p.loaded.size_bytes for p in self._entries.values())
        for key in list(self._entries):
            if total <= self.max_bytes:
                return
            if key in self._pinned:
                continue
            evicted = self._entries.pop(key)
            total -= evicted.loaded.size_bytes
            evicted.close()
