"""What alerts say about promotion: automatic promotion of a model pauses while it has an open,
unmuted critical alert (a person may still promote by hand, with a reason)."""

from __future__ import annotations

from appliance.store import alert_queries as aq
from appliance.store.connection import Store


def promotion_paused(store: Store, model_name: str) -> str | None:
    """Why automatic promotion of the model is paused, or None."""
    critical = aq.open_critical(store, model_name)
    if not critical:
        return None
    names = ", ".join(sorted({f"{a['rule']} ({a['subject']})" for a in critical}))
    return f"{len(critical)} open critical alert(s): {names}"
