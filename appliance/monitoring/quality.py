"""Data quality of a model's traffic in a period (on its axis): what arrived broken, unusual or not at all.

Missing rates per feature (against the contract's limit), rows accepted with out-of-range numbers or
unseen categories (the serving flags), requests rejected by reason, and the request volume against
the same time of day over the previous week. Refused requests carry no event time, so they are
counted by arrival time over the period's start and end whatever its axis.
"""

from __future__ import annotations

from typing import Any

from appliance.core.periods import Period
from appliance.home.context import AppContext
from appliance.contracts.contract import Contract
from appliance.contracts.features import features_from_json
from appliance.errors import MonitoringError
from appliance.registry.contracts import current_contract
from appliance.registry.versions import get_version, require_model
from appliance.store import quality_queries as qq
from appliance.store import registry_queries as q

LOW_VOLUME = 0.5  # fewer than half the usual requests is a problem
HIGH_VOLUME = 2.0


def quality_report(ctx: AppContext, model_name: str, period: Period) -> dict[str, Any]:
    require_model(ctx.store, model_name)
    champion = q.aliases(ctx.store, model_name).get("champion")
    if champion is None:
        raise MonitoringError(f"model '{model_name}' has no champion, so no traffic to check")
    row = get_version(ctx.store, model_name, champion)
    _, contract = current_contract(ctx.store, model_name, champion)
    features = [f.name for f in features_from_json(row["features"])]
    missing = qq.missing_rates(ctx.store, model_name, features, period)
    flags = qq.flag_counts(ctx.store, model_name, period)
    rejected = qq.rejections(ctx.store, model_name, period.start, period.end)
    volume = qq.volume(ctx.store, model_name, period)
    problems = _problems(missing, contract, flags, rejected, volume)
    return {"model": model_name, "version": champion, "window_start": period.start, "window_end": period.end,
            "axis": period.axis,
            "missing_rates": missing, "flags": flags, "rejected": rejected, "volume": volume,
            "problems": problems, "ok": not problems}


def _problems(missing: dict[str, float], contract: Contract, flags: dict[str, int], rejected: dict[str, int],
              volume: dict[str, Any]) -> list[str]:
    found = []
    for name, rate in missing.items():
        limit = contract.columns[name].max_missing_rate if name in contract.columns else 1.0
        if rate > limit:
            found.append(f"{name}: {rate:.1%} missing, above the contract's {limit:.1%}")
    found += [f"{flag.split(':', 1)[1]}: {count} rows with {flag.split(':', 1)[0].replace('_', ' ')}"
              for flag, count in flags.items()]
    found += [f"{count} requests rejected: {reason}" for reason, count in rejected.items()]
    usual = volume["usual_requests"]
    if usual:
        ratio = volume["requests"] / usual
        if ratio < LOW_VOLUME or ratio > HIGH_VOLUME:
            found.append(f"volume {volume['requests']} requests is {ratio:.1f}x the usual {usual:.0f}")
    return found
