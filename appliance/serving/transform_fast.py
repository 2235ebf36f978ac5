"""Array versions of fitted preprocessing steps, for pipelines that have no scoring plan.

Steps with an array form (`appliance.plans.steps`: imputation, scaling, ordinal encoding) run as a
few array operations; scikit-learn's `transform` adds input validation and bookkeeping that dominate
on small frames. A step without one keeps its own `transform`. Exactness is checked by the caller
(the fast path compares with the pipeline on probe rows at load).
"""

from __future__ import annotations

from typing import Any

from appliance.plans.compile import step_data
from appliance.plans.steps import Step, chain, step_runner


def compile_steps(transformer: Any) -> Step:
    """One function for a fitted transformer or Pipeline of transformers."""
    steps = [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]
    return chain([_compile(step) for step in steps])


def _compile(step: Any) -> Step:
    data = step_data(step)
    return step_runner(*data) if data is not None else step.transform
