"""Score one request: route it, validate it against the answering version's contract, predict,
log durably, then let the shadow version score the same inputs off the request path."""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from appliance.clock import utc_now
from appliance.contracts.features import Feature
from appliance.errors import InvalidRequest
from appliance.serving.batching import Predictor
from appliance.serving.metrics import Metrics
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.serving.request_frame import Policy, build_frame
from appliance.serving.routing import Router

Columns = Callable[[list[Feature]], dict[str, Any]]
MAX_SHADOW_BACKLOG = 256


@dataclass(frozen=True, slots=True)
class Scored:
    model_name: str
    version: int
    route: str
    request_id: str
    task: str
    positive_class: str | None
    predictions: np.ndarray
    scores: np.ndarray | None
    flags: list[list[str]]
    audit_sample: bool = False
    classes: tuple[str, ...] = ()  # multiclass: names of the probability columns (predictions: positions)
    predict_fn: str = "predict"  # what /invocations answers unless the request asks (LoadedVersion.predict_fn)

    def labels(self) -> list[Any]:
        """Each row's answer as a client reads it: the class name (multiclass), 1/0 (binary), the value."""
        if self.task == "multiclass":
            return [self.classes[int(p)] for p in self.predictions]
        if self.task == "binary":
            return [int(p) for p in self.predictions]
        return [float(p) for p in self.predictions]


class Scorer:
    def __init__(self, router: Router, log: PredictionLog, metrics: Metrics, policy: Callable[[str], Policy],
                 *, max_rows: int, audit_share: float = 0.0) -> None:
        self.router = router
        self.audit_share = audit_share
        self._random = random.Random()
        self.log = log
        self.metrics = metrics
        self.policy = policy
        self.max_rows = max_rows
        self._shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._shadow_backlog = threading.Semaphore(MAX_SHADOW_BACKLOG)

    def score(self, model_name: str, columns: Columns, *, api: str, request_id: str | None = None,
              routing_key: str | None = None, where: str = "records") -> Scored:
        started = time.perf_counter()
        routes = self.router.routes(model_name)
        route, predictor = routes.choose(routing_key)
        loaded = predictor.loaded
        request = build_frame(columns(loaded.features), loaded.features, loaded.contract, self.policy(model_name),
                              max_rows=self.max_rows, where=where)
        try:
            predictions, scores = predictor.predict(request.inputs)
        except Exception:  # a bug or a broken version: counted per version (canary analysis reads it), then a 500
            self.metrics.request(model_name, str(loaded.version), route, api, 500, time.perf_counter() - started)
            raise
        request_id = request_id or uuid.uuid4().hex
        audit = self.audit_share > 0 and self._random.random() < self.audit_share
        record = LogRecord(request_id, model_name, loaded.version, route, api, predictions, scores,
                           (time.perf_counter() - started) * 1000, request.flags, request.inputs, audit)
        self.log.submit(record)
        self.log.wait(record)
        self.metrics.request(model_name, str(loaded.version), route, api, 200, time.perf_counter() - started)
        if routes.shadow is not None:
            self._shadow(routes.shadow, columns, request_id, api, where)
        return Scored(model_name, loaded.version, route, request_id, loaded.task, loaded.positive_class,
                      predictions, scores, request.flags, audit, loaded.classes, loaded.predict_fn)

    def _shadow(self, predictor: Predictor, columns: Columns, request_id: str, api: str, where: str) -> None:
        if not self._shadow_backlog.acquire(blocking=False):
            self.metrics.shadow_error(predictor.loaded.model_name)
            return

        def run() -> None:
            try:
                started = time.perf_counter()
                loaded = predictor.loaded
                request = build_frame(columns(loaded.features), loaded.features, loaded.contract,
                                      Policy("flag", "flag"), max_rows=self.max_rows, where=where)
                predictions, scores = predictor.predict(request.inputs)
                self.log.submit(LogRecord(request_id, loaded.model_name, loaded.version, "shadow", api, predictions,
                                          scores, (time.perf_counter() - started) * 1000, request.flags,
                                          None))  # the answering version already logged the inputs
            except Exception:  # a shadow never affects the answer; it is counted instead
                self.metrics.shadow_error(predictor.loaded.model_name)
            finally:
                self._shadow_backlog.release()

        self._shadow_pool.submit(run)

    def reject(self, model_name: str | None, api: str, request_id: str | None, error: InvalidRequest,
               body: bytes) -> None:
        """Count and keep a refused request (never as a prediction)."""
        self.metrics.rejected(model_name or "", api, error.reason)
        self.log.submit_rejection({
            "request_id": request_id or uuid.uuid4().hex, "received_at": utc_now(), "model_name": model_name,
            "api": api, "status": error.status, "reason": error.reason, "errors": error.errors,
            "body_excerpt": body[:2048].decode("utf-8", "replace"),
        })

    def close(self) -> None:
        self._shadow_pool.shutdown(wait=True)
