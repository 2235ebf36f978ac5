"""When an alias change needs a second person: the release rules, in one place.

A change needs an approver's approval when its alias is in `promotion.approval_for` (default:
champion); when it is a canary answering more than `canary.max_percent_without_approval` of the
requests (a large canary is a release); and when the version is older than the current champion
(a downgrade, or an old bundle replayed, is a release too) — or may be: a version imported from a
file carries no signed record of when it was made. While no users exist there is one
identity on the box and approval is waived (the request says so).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from appliance.home.context import AppContext
from appliance.registry.versions import get_version
from appliance.serving.routing import DEFAULT_CANARY_PERCENT
from appliance.store import registry_queries as q
from appliance.store import user_queries as uq


def approval_reasons(ctx: AppContext, model_name: str, version: int, alias: str, percent: float | None) -> list[str]:
    """Why this change needs an approver (empty: it does not)."""
    reasons = []
    if alias in ctx.config.promotion.policy_for(model_name).approval_for:
        reasons.append(f"{alias} is in promotion.approval_for")
    if alias == "canary":
        limit = ctx.config.canary.policy_for(model_name).max_percent_without_approval
        share = percent if percent is not None else DEFAULT_CANARY_PERCENT
        if share > limit:
            reasons.append(f"a canary answering {share:g}% of requests is above "
                           f"canary.max_percent_without_approval ({limit:g}%)")
    champion = q.aliases(ctx.store, model_name).get("champion")
    if alias != "challenger" and champion is not None and champion != version:
        made = _trained_at(ctx, model_name, version)
        if made is None:
            reasons.append(f"v{version} was imported with no signed record of when it was made, so it may be "
                           f"older than champion v{champion}")
        elif made < (_trained_at(ctx, model_name, champion) or made):
            reasons.append(f"v{version} is older than champion v{champion}")
    return reasons


def approval_waived(ctx: AppContext) -> bool:
    """No users exist yet: one identity on the box, so nobody else could approve."""
    return uq.active_count(ctx.store) == 0


def _trained_at(ctx: AppContext, model_name: str, version: int) -> datetime | None:
    """When the version's model was made: trained here, its registration; from a signed bundle, the time
    it was made on the box it came from; any other import, unknown (None)."""
    row = get_version(ctx.store, model_name, version)
    origin: Any = row.get("imported_from")
    if isinstance(origin, str):
        origin = json.loads(origin)
    if not origin:
        created: datetime = row["created_at"]
        return created
    original = origin.get("original_created_at") if isinstance(origin, dict) else None
    if not original:
        return None
    found = datetime.fromisoformat(str(original))
    return found.replace(tzinfo=None) if found.tzinfo else found
