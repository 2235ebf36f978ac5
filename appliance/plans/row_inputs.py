"""One request row straight to an estimator's input, for plans whose column groups only pass numbers
through or code categories by position (the boosting libraries' plans).

The general path selects each group's columns as a matrix, runs its steps and stacks the groups:
about a dozen NumPy calls, which on one row cost as much as the trees. Here the row is read as Python
values and coded with the same lookups (`appliance.plans.steps`: a category's position, anything else
the step's unknown code), in the same column order, so the result is the same matrix.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from appliance.contracts.features import NUMERIC, Feature
from appliance.core.inputs import Inputs

Source = tuple[str, dict[Any, float] | None, float]  # (feature, category codes or None for a number, unknown)


def row_encoder(groups: list[dict[str, Any]]) -> Callable[[Inputs], np.ndarray | None] | None:
    """A function one-row Inputs → (1, columns) float64, or None when a group has other steps.
    The function answers None for inputs it cannot take (a passed-through column that is not numeric)."""
    sources: list[Source] = []
    for group in groups:
        if len(group["steps"]) != 1:
            return None
        step = group["steps"][0]
        if step["kind"] == "passthrough":
            sources += [(name, None, 0.0) for name in group["columns"]]
        elif step["kind"] == "ordinal" and "missing" not in step:
            unknown = float(step["unknown"])
            sources += [(name, {value: float(i) for i, value in enumerate(categories)}, unknown)
                        for name, categories in zip(group["columns"], step["categories"])]
        else:
            return None
    last: list[tuple[Any, Any]] = [((), None)]  # (features, layout) of the last call, replaced whole

    def encode(inputs: Inputs) -> np.ndarray | None:
        features, layout = last[0]
        if inputs.features != features:  # element by element; a version's requests share the objects: cheap
            layout = _layout(inputs.features, sources)
            last[0] = (inputs.features, layout)
        if layout is None:
            return None
        numbers = inputs.numeric[0].tolist() if inputs.numeric.shape[1] else []
        texts = inputs.categorical[0].tolist() if inputs.categorical.shape[1] else []
        values = [(numbers[i] if numeric else texts[i]) if codes is None else
                  codes.get(numbers[i] if numeric else texts[i], unknown)
                  for (numeric, i), (_, codes, unknown) in zip(layout, sources)]
        return np.array([values], dtype=np.float64)

    return encode


def _layout(features: tuple[Feature, ...], sources: list[Source]) -> list[tuple[bool, int]] | None:
    """Where each source column sits in Inputs: (is numeric, index in its matrix)."""
    numeric = [f.name for f in features if f.kind == NUMERIC]
    other = [f.name for f in features if f.kind != NUMERIC]
    layout = []
    for name, codes, _ in sources:
        if name in numeric:
            layout.append((True, numeric.index(name)))
        elif name in other and codes is not None:
            layout.append((False, other.index(name)))
        else:
            return None
    return layout
