"""CPU seconds spent in predict calls, per version, measured around every call in whichever thread
runs it (the request's, or a batch worker's). `/metrics` shows the totals (`families`); the rollup job stores what
was added since it last looked (`version_costs`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


class CostMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, int], list[float]] = {}
        self._unsaved: dict[tuple[str, int], list[float]] = {}

    def add(self, model: str, version: int, cpu_s: float, rows: int) -> None:
        with self._lock:
            for table in (self._totals, self._unsaved):
                found = table.setdefault((model, version), [0.0, 0.0])
                found[0] += cpu_s
                found[1] += rows

    def totals(self) -> dict[tuple[str, int], tuple[float, int]]:
        with self._lock:
            return {k: (v[0], int(v[1])) for k, v in self._totals.items()}

    def families(self) -> Iterator[Metric]:
        """The totals as Prometheus counters by model and version: CPU seconds, and rows (an exact count)."""
        from prometheus_client.core import CounterMetricFamily

        labels = ("model", "version")
        cpu = CounterMetricFamily("vigil_predict_cpu_seconds", "CPU seconds spent in predict calls, by model and "
                                  "version.", labels=labels)
        rows = CounterMetricFamily("vigil_predicted_rows", "Rows answered by predict calls, by model and version.",
                                   labels=labels)
        for (model, version), (cpu_s, row_count) in sorted(self.totals().items()):
            cpu.add_metric((model, str(version)), cpu_s)
            rows.add_metric((model, str(version)), row_count)
        yield cpu
        yield rows

    def take(self) -> dict[tuple[str, int], tuple[float, int]]:
        """What was added since the last take (for storing), and forget it."""
        with self._lock:
            taken, self._unsaved = self._unsaved, {}
        return {k: (v[0], int(v[1])) for k, v in taken.items()}

    def give_back(self, taken: dict[tuple[str, int], tuple[float, int]]) -> None:
        """Return what could not be stored, so the next take includes it."""
        with self._lock:
            for key, (cpu_s, rows) in taken.items():
                found = self._unsaved.setdefault(key, [0.0, 0.0])
                found[0] += cpu_s
                found[1] += rows


METER = CostMeter()


def save(store: object) -> int:
    """Add the CPU time measured since the last save to `version_costs`; returns the rows counted."""
    from appliance.clock import utc_now
    from appliance.store import registry_queries as q
    from appliance.store.connection import Store

    assert isinstance(store, Store)
    taken = METER.take()
    if not taken:
        return 0
    try:
        with store.transaction():
            at = utc_now()
            for (model, version), (cpu_s, rows) in taken.items():
                q.add_serving_cost(store, model, version, cpu_s, rows, at)
    except BaseException:
        METER.give_back(taken)
        raise
    return sum(rows for _, rows in taken.values())
