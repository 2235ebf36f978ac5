"""What a breach costs, estimated from the owner's values (`[owners.models.NAME] cost_per_failed_request`,
`cost_per_wrong_decision`, `currency`): failed or slow requests times their cost, and the wrong answers a
drop in accuracy adds (the holdout's accuracy minus the window's realized, else estimated, accuracy, times the
rows answered) times theirs. Unset values mean no estimate, never a zero cost.

>>> from appliance.config import Owner
>>> owner = Owner(team="risk", contact="r@x", cost_per_failed_request=0.5, cost_per_wrong_decision=4, currency="EUR")
>>> request_cost(owner, 120)
60.0
>>> decision_cost(owner, rows=1000, reference_accuracy=0.8, accuracy=0.75)
200.0
>>> describe(60.0, owner)
'60.00 EUR'
"""

from __future__ import annotations

from appliance.config import Owner


def request_cost(owner: Owner | None, bad_requests: int) -> float | None:
    if owner is None or owner.cost_per_failed_request is None:
        return None
    return bad_requests * owner.cost_per_failed_request


def extra_wrong(rows: int, reference_accuracy: float | None, accuracy: float | None) -> float | None:
    """Wrong answers beyond what the holdout's accuracy would give over `rows` (0 when no worse)."""
    if reference_accuracy is None or accuracy is None:
        return None
    return max(0.0, reference_accuracy - accuracy) * rows


def decision_cost(owner: Owner | None, *, rows: int, reference_accuracy: float | None,
                  accuracy: float | None) -> float | None:
    extra = extra_wrong(rows, reference_accuracy, accuracy)
    if owner is None or owner.cost_per_wrong_decision is None or extra is None:
        return None
    return round(extra * owner.cost_per_wrong_decision, 9)


def describe(cost: float, owner: Owner) -> str:
    return f"{cost:,.2f} {owner.currency}".rstrip()
