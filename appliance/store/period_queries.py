"""SQL of past periods: when a model's logged rows happened on a time axis, for chunking a period."""

from __future__ import annotations

from datetime import datetime

from appliance.core.periods import Period
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


def row_times(store: Store, model_name: str, period: Period) -> tuple[list[datetime], list[int]]:
    """The distinct times (on the period's axis) of the model's answered rows in the period, in order, and
    how many rows share each (shadow rows excluded, as every check excludes them)."""
    at = pq.time_expression(period.axis)
    rows = store.execute(
        f"SELECT {at} AS at, count(*) FROM prediction_log p WHERE p.model_name = ? AND p.route <> 'shadow' "
        f"AND {at} >= ? AND {at} < ? GROUP BY 1 ORDER BY 1", [model_name, period.start, period.end])
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def request_time_range(store: Store, request_ids: list[str], axis: str) -> tuple[datetime | None, datetime | None]:
    """The first and last time (on `axis`) of the rows logged under these requests (a batch's requests)."""
    if not request_ids:
        return None, None
    at = pq.time_expression(axis)
    row = store.execute(f"SELECT min({at}), max({at}) FROM prediction_log p WHERE p.request_id IN "
                        "(SELECT unnest(?::VARCHAR[]))", [request_ids])[0]
    return row[0], row[1]
