"""A version ready to score: its model, features, contract and decision threshold.

`engine` says what computes its answers: "plan" (its scoring plan; `model` is then None, the
pipeline is not loaded), "fast path" (the pipeline's steps as arrays) or "pipeline" (scikit-learn).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from appliance.contracts.contract import Contract
from appliance.contracts.features import Feature
from appliance.serving.cost_meter import METER, CostMeter
from appliance.core.inputs import Inputs


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    model_name: str
    version: int
    task: str
    model: Any  # the fitted pipeline, or None when a scoring plan serves
    features: list[Feature]
    contract: Contract
    positive_class: str | None
    threshold: float
    size_bytes: int
    fast: Callable[[Inputs], np.ndarray] | None = field(default=None, compare=False)
    engine: str = "pipeline"
    classes: tuple[str, ...] = ()  # multiclass: the class names, in the order of the probability columns
    predict_fn: str = "predict"  # MLflow's pyfunc function for /invocations (a model from MLflow may say)

    def predict(self, inputs: Inputs, meter: CostMeter = METER) -> tuple[np.ndarray, np.ndarray | None]:
        """(predictions, scores): binary → (1/0 at the threshold, positive-class probability);
        multiclass → (position of the most probable class in `classes`, every class's probability).

        The CPU time goes to `meter`: the serving cost, unless the caller (a release gate measuring
        latency) keeps its own."""
        started = time.thread_time()
        if self.task == "binary":
            raw = self.fast(inputs) if self.fast else self.model.predict_proba(inputs.to_polars())
            scores = np.asarray(raw)[:, 1].astype(np.float64)
            predictions = (scores >= self.threshold).astype(np.float64)
            meter.add(self.model_name, self.version, time.thread_time() - started, len(scores))
            return predictions, scores
        if self.task == "multiclass":
            raw = self.fast(inputs) if self.fast else self.model.predict_proba(inputs.to_polars())
            probabilities = np.asarray(raw, dtype=np.float64)
            meter.add(self.model_name, self.version, time.thread_time() - started, len(probabilities))
            return np.argmax(probabilities, axis=1).astype(np.float64), probabilities
        raw = np.asarray(self.fast(inputs) if self.fast else self.model.predict(inputs.to_polars()), dtype=np.float64)
        meter.add(self.model_name, self.version, time.thread_time() - started, len(raw))
        return raw, None

    @property
    def key(self) -> tuple[str, int]:
        return self.model_name, self.version
