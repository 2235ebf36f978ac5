"""Adaptive micro-batching: concurrent requests for one version share one predict call.

A request that finds nothing predicting for its version predicts at once in its own thread. Otherwise
it queues, and a worker thread per version takes the first queued request plus every request queued
behind it (up to `max_rows` rows), predicts once and hands each caller its slice. While a batch is
predicted, new requests queue up and form the next one, so batches grow with load and a lone
request never waits for company. `max_wait_ms` > 0 additionally waits that long for a batch to fill.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from appliance.core.inputs import Inputs
from appliance.errors import PredictorBroken
from appliance.serving.loaded import LoadedVersion

Result = tuple[np.ndarray, np.ndarray | None]


@dataclass(eq=False)
class _Job:
    inputs: Inputs
    done: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None


IDLE_EXIT_S = 5.0


class Predictor:
    """Predicts for one version, batching concurrent calls when enabled.

    `close()` lets the worker thread end once it has been idle for a while; a caller still holding
    a closed predictor (a request in flight during a swap) then predicts directly, so it never hangs.
    """

    def __init__(self, loaded: LoadedVersion, *, batching: bool, max_rows: int = 64, max_wait_ms: float = 0.0) -> None:
        self.loaded = loaded
        self.batching = batching
        self.max_rows = max_rows
        self.max_wait = max_wait_ms / 1000
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._submit = threading.Lock()
        self._closing = False
        self._worker_alive = batching
        self.predict_calls = 0  # model predict calls made (fewer than requests when batching pays)
        if batching:
            threading.Thread(target=self._run, name=f"batch-{loaded.model_name}-v{loaded.version}",
                             daemon=True).start()

    def predict(self, inputs: Inputs) -> Result:
        if self._lock.acquire(blocking=False):  # nothing is predicting: no batch to join, go at once
            try:
                if not self.batching or self._jobs.empty():
                    self.predict_calls += 1
                    return self.loaded.predict(inputs)
            finally:
                self._lock.release()
        job = _Job(inputs)
        with self._submit:
            queued = self._worker_alive
            if queued:
                self._jobs.put(job)
        if not queued:
            if self.loaded.engine == "plan":  # NumPy on one thread: concurrent calls cannot oversubscribe
                self.predict_calls += 1
                return self.loaded.predict(inputs)
            with self._lock:  # one predict at a time per version: no OpenMP thread oversubscription
                self.predict_calls += 1
                return self.loaded.predict(inputs)
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def close(self) -> None:
        self._closing = True

    def _run(self) -> None:
        while True:
            try:
                first = self._jobs.get(timeout=IDLE_EXIT_S)
            except queue.Empty:
                with self._submit:
                    if self._closing and self._jobs.empty():
                        self._worker_alive = False
                        return
                continue
            jobs, rows = [first], first.inputs.height
            deadline = time.monotonic() + self.max_wait
            while rows < self.max_rows:
                try:
                    remaining = deadline - time.monotonic()
                    job = self._jobs.get(timeout=remaining) if remaining > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                rows += job.inputs.height
            self._predict_all(jobs)

    def _predict_all(self, jobs: list[_Job]) -> None:
        try:
            batch = Inputs.concat([j.inputs for j in jobs])
            with self._lock:
                self.predict_calls += 1
                predictions, scores = self.loaded.predict(batch)
        except BaseException as e:  # handed to each caller, who turns it into a 500
            if len(jobs) > 1 and isinstance(e, Exception) and not isinstance(e, PredictorBroken):
                for job in jobs:  # one request's rows may be what broke the model: each predicts alone,
                    self._predict_all([job])  # so it fails no other client's request
                return
            for job in jobs:
                job.error = e
                job.done.set()
            return
        start = 0
        for job in jobs:
            end = start + job.inputs.height
            job.result = (predictions[start:end], None if scores is None else scores[start:end])
            start = end
            job.done.set()
