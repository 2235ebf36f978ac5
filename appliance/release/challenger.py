"""A retrain's new version becomes challenger through the door: a request, applied at once unless the
rules ask for an approver (challenger in `promotion.approval_for`). Challenger answers no traffic, so
the request carries no gates; they run when the version is promoted to an alias that answers."""

from __future__ import annotations

from typing import Any

from appliance.home.context import AppContext
from appliance.release.requests import request_promotion


def designate(ctx: AppContext, model_name: str, version: int, *, actor: str, reason: str) -> dict[str, Any]:
    return request_promotion(ctx, model_name, version, "challenger", percent=None, reason=reason, actor=actor,
                             gates=False)
