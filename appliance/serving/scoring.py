"""Score one request: route it, validate it against the answering version's contract, predict,
log durably, then let the shadow version score the same inputs off the request path."""

from __future__ import annotations

import logging
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
from appliance.errors import InvalidRequest, ModelNotServed, RetryLater, StoreFull
from appliance.serving.batching import Predictor
from appliance.serving.metrics import UNKNOWN_MODEL, Metrics
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.serving.request_frame import Policy, build_frame
from appliance.serving.request_times import RequestTimes, Times, for_rows
from appliance.serving.routing import Router
from appliance.serving.unanswered import TALLY

Columns = Callable[[list[Feature]], dict[str, Any]]
MAX_SHADOW_BACKLOG = 256
NOT_SERVED_LOG_EVERY_S = 60.0  # at most one daemon log line per minute about requests for models not served

log = logging.getLogger("vigil.serving")


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
    output: str = "decision"  # how `predictions` were decided (see `answered_output`)
    ignored_columns: tuple[str, ...] = ()  # columns sent that the model does not take, ignored by its policy

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
        self._not_served = _NotServedLog(NOT_SERVED_LOG_EVERY_S)

    def score(self, model_name: str, columns: Columns, *, api: str, request_id: str | None = None,
              routing_key: str | None = None, where: str = "records", output: str = "decision",
              version: int | None = None, event_time: RequestTimes | None = None) -> Scored:
        """Score and log one request. `output` is what the client is answered (`answered_output`); the log
        records the classes answered, so outcome metrics measure what clients were told. Each row's event
        time is the one the request gave beside its rows (`event_time`) or in its event-time column."""
        started = time.perf_counter()
        try:
            routes = self.router.routes(model_name)
        except ModelNotServed:
            self._count_not_served(model_name, api, "model_not_served")
            raise
        route, predictor = routes.choose(routing_key) if version is None else routes.pinned(version)
        loaded = predictor.loaded
        request = build_frame(columns(loaded.features), loaded.features, loaded.contract, self.policy(model_name),
                              max_rows=self.max_rows, where=where)
        times = for_rows(event_time, request.event_times, request.event_field, len(request.flags))
        output = answered_output(output, loaded)
        try:
            predictions, scores = predictor.predict(request.inputs)
        except Exception:  # a bug or a broken version: counted per version (canary analysis reads it), then a 500
            self.metrics.request(model_name, str(loaded.version), route, api, 500, time.perf_counter() - started)
            self._keep_failure(model_name, loaded.version, api, request_id)
            raise
        predictions = as_answered(predictions, scores, loaded.task, output)
        request_id = request_id or uuid.uuid4().hex
        audit = self.audit_share > 0 and self._random.random() < self.audit_share
        record = LogRecord(request_id, model_name, loaded.version, route, api, predictions, scores,
                           (time.perf_counter() - started) * 1000, request.flags, request.inputs, audit,
                           event_times=times)
        try:  # refused under load, unkept: counted for the availability objective
            self.log.submit(record)
        except RetryLater:
            TALLY.count(model_name)
            raise
        try:
            self.log.wait(record)
        except StoreFull:  # its group was not stored; a wait that timed out is not counted here: the
            TALLY.count(model_name)  # record stays queued and is logged (answered) when it commits
            raise
        self.metrics.request(model_name, str(loaded.version), route, api, 200, time.perf_counter() - started)
        if routes.shadow is not None:
            self._shadow(routes.shadow, columns, request_id, api, where, output, times)
        return Scored(model_name, loaded.version, route, request_id, loaded.task, loaded.positive_class,
                      predictions, scores, request.flags, audit, loaded.classes, loaded.predict_fn, output,
                      request.ignored)

    def _shadow(self, predictor: Predictor, columns: Columns, request_id: str, api: str, where: str,
                output: str, times: Times | None) -> None:
        """Score the request's inputs with the shadow version off the request path; its rows carry the same
        event times as the answer's."""
        if not self._shadow_backlog.acquire(blocking=False):
            self.metrics.shadow_error(predictor.loaded.model_name)
            return

        def run() -> None:
            try:
                started = time.perf_counter()
                loaded = predictor.loaded
                request = build_frame(columns(loaded.features), loaded.features, loaded.contract,
                                      Policy("flag", "flag", "ignore"), max_rows=self.max_rows, where=where)
                predictions, scores = predictor.predict(request.inputs)
                predictions = as_answered(predictions, scores, loaded.task, output)
                self.log.submit(LogRecord(request_id, loaded.model_name, loaded.version, "shadow", api, predictions,
                                          scores, (time.perf_counter() - started) * 1000, request.flags,
                                          None,  # the answering version already logged the inputs
                                          event_times=times))
            except Exception:  # a shadow never affects the answer; it is counted instead
                self.metrics.shadow_error(predictor.loaded.model_name)
            finally:
                self._shadow_backlog.release()

        self._shadow_pool.submit(run)

    def reject(self, model_name: str | None, api: str, request_id: str | None, error: InvalidRequest,
               body: bytes) -> None:
        """Count and keep a refused request (never as a prediction). A request naming a model not served
        is only counted, under one label, and logged now and then: a client making up names grows
        neither the metrics nor the store."""
        if model_name is None or not self._serves(model_name):
            self._count_not_served(model_name, api, error.reason)
            return
        self.metrics.rejected(model_name, api, error.reason)
        self.log.submit_rejection({
            "request_id": request_id or uuid.uuid4().hex, "received_at": utc_now(), "model_name": model_name,
            "api": api, "status": error.status, "reason": error.reason, "errors": error.errors,
            "body_excerpt": body[:2048].decode("utf-8", "replace"),
        })

    def _keep_failure(self, model_name: str, version: int, api: str, request_id: str | None) -> None:
        """Keep a request the version failed to answer (a 500) beside the refused ones, as status 500: the
        availability objective counts it against the model's error budget (the 4xx beside it spend none)."""
        problem = f"version {version} failed to score this request (a server error; see the daemon's log)"
        self.log.submit_rejection({
            "request_id": request_id or uuid.uuid4().hex, "received_at": utc_now(), "model_name": model_name,
            "api": api, "status": 500, "reason": "scoring_failed",
            "errors": [{"field": "(model)", "problem": problem, "kind": "scoring_failed"}], "body_excerpt": "",
        })

    def close(self) -> None:
        self._shadow_pool.shutdown(wait=True)

    def _serves(self, model_name: str) -> bool:
        try:
            self.router.routes(model_name)
        except ModelNotServed:
            return False
        return True

    def _count_not_served(self, model_name: str | None, api: str, reason: str) -> None:
        self.metrics.rejected(UNKNOWN_MODEL, api, reason)
        self._not_served.note(model_name)


class _NotServedLog:
    """Requests for models not served, told to the daemon log at most once per `every_s`: how many
    since the last line and one name as sent (shortened), so a flood of made-up names is one line."""

    def __init__(self, every_s: float) -> None:
        self._every_s = every_s
        self._lock = threading.Lock()
        self._last_at = float("-inf")
        self._unlogged = 0

    def note(self, model_name: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._unlogged += 1
            if now - self._last_at < self._every_s:
                return
            count, self._unlogged, self._last_at = self._unlogged, 0, now
        log.warning("%d request(s) for models not served (counted as model=%r in /metrics), e.g. %r", count,
                    UNKNOWN_MODEL, (model_name or "")[:64])


def answered_output(asked: str, loaded: Any) -> str:
    """What a request is answered: "decision" (a binary model's class at the version's threshold, as the
    native API answers), "predict" (the estimator's own class, as MLflow's pyfunc `predict` answers) or
    "predict_proba"; "auto" is what MLflow serves the version with (`LoadedVersion.predict_fn`). A
    regression model answers its values whatever was asked."""
    if loaded.task == "regression":
        return "predict"
    return str(loaded.predict_fn) if asked == "auto" else asked


def as_answered(predictions: np.ndarray, scores: np.ndarray | None, task: str, output: str) -> np.ndarray:
    """A binary model's classes as `output` decides them: for "predict", the class its probabilities favour
    (scikit-learn's `predict`: the positive class above 0.5, the negative one at a tie), not the threshold."""
    if task != "binary" or output != "predict" or scores is None:
        return predictions
    return (np.asarray(scores) > 0.5).astype(np.float64)
