"""The daemon's counters, latency histogram and gauges, rendered in Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Callable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in pairs) + "}" if pairs else ""


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self._rejected: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self._latency: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self._shadow_errors: dict[str, int] = defaultdict(int)
        self._shed = 0
        self.gauges: dict[str, Callable[[], list[tuple[tuple[tuple[str, str], ...], float]]]] = {}

    def request(self, model: str, version: str, route: str, api: str, status: int, seconds: float | None) -> None:
        key = (("model", model), ("version", version), ("route", route), ("api", api), ("status", str(status)))
        with self._lock:
            self._requests[key] += 1
            if seconds is not None:
                hkey = (("model", model), ("route", route))
                counts = self._latency.setdefault(hkey, [0.0] * (len(BUCKETS) + 2))
                for i, bound in enumerate(BUCKETS):
                    if seconds <= bound:
                        counts[i] += 1
                counts[-2] += 1
                counts[-1] += seconds

    def rejected(self, model: str, api: str, reason: str) -> None:
        with self._lock:
            self._rejected[(("model", model), ("api", api), ("reason", reason))] += 1

    def shed(self) -> None:
        """A request answered 503 at once because the queue was full."""
        with self._lock:
            self._shed += 1

    def shadow_error(self, model: str) -> None:
        with self._lock:
            self._shadow_errors[model] += 1

    def version_outcomes(self, model: str, version: str) -> tuple[int, int]:
        """(answered, server errors) of a version since the daemon started."""
        with self._lock:
            found = [(dict(k)["status"], n) for k, n in self._requests.items()
                     if dict(k)["model"] == model and dict(k)["version"] == version]
        return sum(n for status, n in found if status == "200"), sum(n for status, n in found if status == "500")

    def requests_total(self) -> int:
        with self._lock:
            return sum(self._requests.values())

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP vigil_requests_total Scoring requests by model, version, route, api and status.",
                     "# TYPE vigil_requests_total counter"]
            lines += [f"vigil_requests_total{_labels(k)} {v}" for k, v in sorted(self._requests.items())]
            lines += ["# HELP vigil_rejected_requests_total Requests refused for a client's mistake, by reason.",
                      "# TYPE vigil_rejected_requests_total counter"]
            lines += [f"vigil_rejected_requests_total{_labels(k)} {v}" for k, v in sorted(self._rejected.items())]
            lines += ["# HELP vigil_shed_requests_total Requests answered 503 at once because the queue was full.",
                      "# TYPE vigil_shed_requests_total counter", f"vigil_shed_requests_total {self._shed}"]
            lines += ["# HELP vigil_shadow_errors_total Shadow scorings that failed.",
                      "# TYPE vigil_shadow_errors_total counter"]
            lines += [f'vigil_shadow_errors_total{{model="{m}"}} {v}' for m, v in sorted(self._shadow_errors.items())]
            lines += ["# HELP vigil_request_duration_seconds Time from request to answer.",
                      "# TYPE vigil_request_duration_seconds histogram"]
            for key, counts in sorted(self._latency.items()):
                for bound, count in zip(BUCKETS, counts):
                    lines.append(f"vigil_request_duration_seconds_bucket{_labels(key + (('le', str(bound)),))} {count:g}")
                lines.append(f"vigil_request_duration_seconds_bucket{_labels(key + (('le', '+Inf'),))} {counts[-2]:g}")
                lines.append(f"vigil_request_duration_seconds_count{_labels(key)} {counts[-2]:g}")
                lines.append(f"vigil_request_duration_seconds_sum{_labels(key)} {counts[-1]:.6f}")
        from appliance.serving.cost_meter import METER

        costs = sorted(METER.totals().items())
        lines += ["# HELP vigil_predict_cpu_seconds_total CPU seconds spent in predict calls, by model and version.",
                  "# TYPE vigil_predict_cpu_seconds_total counter"]
        lines += [f'vigil_predict_cpu_seconds_total{{model="{m}",version="{v}"}} {c:.6f}' for (m, v), (c, _) in costs]
        lines += ["# HELP vigil_predicted_rows_total Rows answered by predict calls, by model and version.",
                  "# TYPE vigil_predicted_rows_total counter"]
        lines += [f'vigil_predicted_rows_total{{model="{m}",version="{v}"}} {n}' for (m, v), (_, n) in costs]
        for name, read in sorted(self.gauges.items()):
            lines += [f"# TYPE {name} gauge"] + [f"{name}{_labels(k)} {v:g}" for k, v in read()]
        return "\n".join(lines) + "\n"
