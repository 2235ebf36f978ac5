"""The estimated cost of what a monitoring check found (drift, a drop in quality), as an incident event: the
wrong answers a drop in accuracy adds over the window's answered rows, priced by the owner's
`cost_per_wrong_decision` (monitoring/impact.py). Accuracy is the window's realized accuracy on labels, else
its estimate (CBPE), against the champion's holdout accuracy."""

from __future__ import annotations

from datetime import datetime

from appliance.alerts.evaluation import Observation
from appliance.alerts.owners import owner_of
from appliance.home.context import AppContext
from appliance.monitoring import impact
from appliance.store import incident_queries as iq
from appliance.store import registry_queries as q


def window_accuracy(observations: list[Observation]) -> float | None:
    """The window's realized accuracy, else its estimated accuracy (None without either)."""
    found = {o.metric: o.value for o in observations if o.subject == "(model)" and o.value is not None}
    return found.get("accuracy", found.get("estimated_accuracy"))


def cost_text(ctx: AppContext, model_name: str, champion: int | None, observations: list[Observation],
              rows: int) -> str | None:
    """'estimated cost ...' of the window's extra wrong answers; None when the owner gave no cost or the
    accuracies are unknown."""
    owner = owner_of(ctx.config, model_name)
    if owner is None or owner.cost_per_wrong_decision is None or champion is None:
        return None
    reference = q.overall_metrics(ctx.store, model_name, champion).get("accuracy")
    accuracy = window_accuracy(observations)
    cost = impact.decision_cost(owner, rows=rows, reference_accuracy=reference, accuracy=accuracy)
    if cost is None or reference is None or accuracy is None:
        return None
    extra = impact.extra_wrong(rows, reference, accuracy) or 0.0
    return (f"estimated cost {impact.describe(cost, owner)}: accuracy {accuracy:.3f} against the holdout's "
            f"{reference:.3f} over {rows} answered rows is {extra:.0f} more wrong answers at "
            f"{owner.cost_per_wrong_decision:g} each")


def note_cost(ctx: AppContext, incidents: list[int], text: str | None, at: datetime) -> None:
    """Add the estimate to each incident the check opened (inside the check's transaction)."""
    if text is None:
        return
    for incident_id in incidents:
        iq.add_event(ctx.store, incident_id, at, "impact", "vigil", text)
