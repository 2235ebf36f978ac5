"""The daemon's counters, latency histogram and gauges, exposed in Prometheus text format.

Counting is one lock and one integer increment per request (the hot path); `render` hands the counts
to prometheus_client as metric families, so every family carries HELP and TYPE, escaping is
Prometheus's own, and counts are exact (integers, never rounded to six digits).

Every label comes from a bounded set: `model` and `version` name what the daemon serves (a request
for any other model is counted under `model="_unknown"`, which no model can be named, since names
start with a letter), `route` and `status` are the scorer's own, and `api` and `reason` are words of
the code, kept to `MAX_WORDS` distinct values (anything else is counted as `other`).
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNKNOWN_MODEL = "_unknown"  # the one `model` label value of requests for models not served
OTHER = "other"  # an `api` or `reason` outside the code's own words
MAX_WORDS = 64
_WORD = re.compile(r"[a-z][a-z0-9_]{0,47}")

GaugeRows = list[tuple[tuple[str, ...], float]]


@dataclass(frozen=True, slots=True)
class Gauge:
    """A value read when `/metrics` is scraped: its HELP text, label names and a reader of (labels, value) rows."""

    help: str
    labels: tuple[str, ...]
    read: Callable[[], GaugeRows]


class _Latency:
    """One histogram series: requests per bucket (not cumulative; the last one is +Inf) and their sum."""

    __slots__ = ("per_bucket", "total_seconds")

    def __init__(self) -> None:
        self.per_bucket = [0] * (len(BUCKETS) + 1)
        self.total_seconds = 0.0


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str, str, int], int] = {}
        self._rejected: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        self._shadow_errors: dict[str, int] = {}
        self._shed = 0
        self._words: set[str] = set()
        self.gauges: dict[str, Gauge] = {}

    def gauge(self, name: str, help_text: str, read: Callable[[], GaugeRows], labels: tuple[str, ...] = ()) -> None:
        """Export `read()` as gauge `name` (its rows' label values in the order of `labels`)."""
        self.gauges[name] = Gauge(help_text, labels, read)

    def request(self, model: str, version: str, route: str, api: str, status: int, seconds: float | None) -> None:
        """An answered request of a served model (`status` 200, or 500 when its version failed)."""
        key = (model, version, route, api, status)
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            if seconds is not None:
                series = self._latency.get((model, route))
                if series is None:
                    series = self._latency[(model, route)] = _Latency()
                series.per_bucket[bisect_left(BUCKETS, seconds)] += 1
                series.total_seconds += seconds

    def rejected(self, model: str, api: str, reason: str) -> None:
        """A request refused for a client's mistake; `model` is a served model's name or UNKNOWN_MODEL."""
        with self._lock:
            key = (model, self._word(api), self._word(reason))
            self._rejected[key] = self._rejected.get(key, 0) + 1

    def shed(self) -> None:
        """A request answered 503 at once because the queue was full."""
        with self._lock:
            self._shed += 1

    def shadow_error(self, model: str) -> None:
        with self._lock:
            self._shadow_errors[model] = self._shadow_errors.get(model, 0) + 1

    def version_outcomes(self, model: str, version: str) -> tuple[int, int]:
        """(answered, server errors) of a version since the daemon started."""
        with self._lock:
            found = [(key[4], n) for key, n in self._requests.items() if key[0] == model and key[1] == version]
        return sum(n for status, n in found if status == 200), sum(n for status, n in found if status == 500)

    def render(self) -> str:
        """The Prometheus text exposition (format 0.0.4) of every family."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry).decode("utf-8")

    def families(self) -> Iterator[Metric]:
        """Every family with its samples, read under the lock once (a consistent view)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self._lock:
            requests, rejected = dict(self._requests), dict(self._rejected)
            shadow_errors, shed = dict(self._shadow_errors), self._shed
            latency = {key: (list(s.per_bucket), s.total_seconds) for key, s in self._latency.items()}
        family = CounterMetricFamily("vigil_requests", "Scoring requests by model, version, route, api and status.",
                                     labels=("model", "version", "route", "api", "status"))
        for (model, version, route, api, status), count in sorted(requests.items()):
            family.add_metric((model, version, route, api, str(status)), count)
        yield family
        family = CounterMetricFamily("vigil_rejected_requests", "Requests refused for a client's mistake, by model "
                                     f"(\"{UNKNOWN_MODEL}\": a model not served), api and reason.",
                                     labels=("model", "api", "reason"))
        for labels, count in sorted(rejected.items()):
            family.add_metric(labels, count)
        yield family
        yield CounterMetricFamily("vigil_shed_requests", "Requests answered 503 at once because the queue was full.",
                                  value=shed)
        family = CounterMetricFamily("vigil_shadow_errors", "Shadow scorings that failed, by model.", labels=("model",))
        for model, count in sorted(shadow_errors.items()):
            family.add_metric((model,), count)
        yield family
        yield _histogram(latency)
        from appliance.serving.cost_meter import METER

        yield from METER.families()
        for name, gauge in sorted(self.gauges.items()):
            read = GaugeMetricFamily(name, gauge.help, labels=gauge.labels)
            for label_values, value in gauge.read():
                read.add_metric(label_values, value)
            yield read

    def _word(self, value: str) -> str:
        """`value` as a label if it is one of the code's words, within MAX_WORDS distinct ones; else OTHER."""
        if value in self._words:
            return value
        if len(self._words) >= MAX_WORDS or not _WORD.fullmatch(value):
            return OTHER
        self._words.add(value)
        return value


def _histogram(latency: dict[tuple[str, str], tuple[list[int], float]]) -> Metric:
    """Request durations by model and route; each bucket counts every request at or under its bound."""
    from prometheus_client.core import HistogramMetricFamily
    from prometheus_client.utils import floatToGoString

    family = HistogramMetricFamily("vigil_request_duration_seconds", "Time from request to answer, by model and route.",
                                   labels=("model", "route"))
    for (model, route), (per_bucket, total_seconds) in sorted(latency.items()):
        cumulative, buckets = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), per_bucket):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        family.add_metric((model, route), buckets, total_seconds)
    return family


class _Collector:
    """Adapts Metrics to prometheus_client's collector protocol (a `collect()` yielding families)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families()
