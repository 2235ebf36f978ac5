"""A scoring plan: JSON metadata plus named arrays, run with NumPy alone, stored as one .npz file."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from appliance.plans.forest import forest_runner
from appliance.plans.linear import linear_runner
from appliance.plans.random_forest import random_forest_runner
from appliance.plans.row_inputs import row_encoder
from appliance.plans.steps import chain, step_runner
from appliance.plans.trees import booster_runner
from appliance.core.inputs import Inputs

FORMAT = 3  # bump when the meaning of a plan's contents changes; older plans are then recompiled
# (2: estimators of kind "booster", XGBoost, LightGBM and CatBoost trees, and the "passthrough" step;
# 3: estimators of kind "linear" and "random_forest", and the "onehot" step, which format-2 code cannot run)
META_KEY = "__meta__"


@dataclass
class ScoringPlan:
    """`meta`: {"format", "groups": [{"columns", "steps": [spec]}], "estimator": spec}; arrays named
    `g{group}s{step}.{name}` for steps and `e.{name}` for the estimator."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    _run: Callable[[Inputs], np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __call__(self, inputs: Inputs) -> np.ndarray:
        if self._run is None:
            self._run = self._compile()
        return self._run(inputs)

    def _compile(self) -> Callable[[Inputs], np.ndarray]:
        groups = []
        for g, group in enumerate(self.meta["groups"]):
            steps = [step_runner(spec, self._prefixed(f"g{g}s{s}.")) for s, spec in enumerate(group["steps"])]
            groups.append((chain(steps), list(group["columns"])))
        final = _runner(self.meta["estimator"]["kind"])(self.meta["estimator"], self._prefixed("e."))

        direct = row_encoder(self.meta["groups"])

        def run(inputs: Inputs) -> np.ndarray:
            if direct is not None and inputs.height == 1:
                row = direct(inputs)
                if row is not None:
                    return final(row)
            parts = [transform(inputs.columns(columns)) for transform, columns in groups]
            matrix = np.hstack(parts) if len(parts) > 1 else parts[0]
            return final(np.asarray(matrix, dtype=np.float64))

        return run

    def _prefixed(self, prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix):]: v for k, v in self.arrays.items() if k.startswith(prefix)}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        meta = np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8)
        contents: dict[str, Any] = {META_KEY: meta, **self.arrays}
        np.savez(buffer, **contents)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ScoringPlan":
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:  # data only, never objects
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode())
        if meta.get("format") != FORMAT:
            raise ValueError(f"plan format {meta.get('format')} is not {FORMAT}")
        _runner(meta["estimator"]["kind"])  # an estimator this code cannot run: recompiled, not served
        return cls(meta, arrays)


def _runner(kind: str) -> Callable[[dict[str, Any], dict[str, np.ndarray]], Callable[[np.ndarray], np.ndarray]]:
    """The function that builds an estimator of this kind from its spec and arrays."""
    runners = {"booster": booster_runner, "linear": linear_runner, "random_forest": random_forest_runner,
               "hist_gradient_boosting": forest_runner}
    if kind not in runners:
        raise ValueError(f"unknown estimator kind {kind!r}")
    return runners[kind]
