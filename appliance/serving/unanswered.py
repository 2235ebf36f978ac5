"""Requests of a served model that the service failed to answer and could not keep as a row: shed by a full
scoring queue, refused while the daemon drains, or refused by a saturated (or slow) prediction log. Each
gets a 503 at once, and writing a row for it would add to the very load that refused it; so they are
counted here per model and minute, in memory, and the rollup job stores the counts in `failure_rollups`
as server errors (the availability objective spends its budget on them, monitoring/slo.py).

Counts not yet stored when the process dies are lost (at most a minute or two of them): they are no
acknowledged record, only a tally of requests the service already failed.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from appliance.clock import utc_now
from appliance.store import slo_queries as sq
from appliance.store.connection import Store

log = logging.getLogger(__name__)
MAX_KEYS = 10_000  # (model, minute) pairs held between two rollups; a served model's name is the only key


class UnansweredTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, datetime], int] = {}

    def count(self, model_name: str, at: datetime | None = None) -> None:
        minute = (at or utc_now()).replace(second=0, microsecond=0)
        key = (model_name, minute)
        with self._lock:
            if key in self._counts or len(self._counts) < MAX_KEYS:
                self._counts[key] = self._counts.get(key, 0) + 1
                return
        log.warning("%d (model, minute) counts held already: a refused request of %s is not counted", MAX_KEYS,
                    model_name)

    def take(self) -> dict[tuple[str, datetime], int]:
        """The counts since the last take, forgotten here (the caller stores them or gives them back)."""
        with self._lock:
            taken, self._counts = self._counts, {}
        return taken

    def give_back(self, taken: dict[tuple[str, datetime], int]) -> None:
        with self._lock:
            for key, n in taken.items():
                self._counts[key] = self._counts.get(key, 0) + n


TALLY = UnansweredTally()


def save(store: Store) -> int:
    """Add the counts since the last save to `failure_rollups` as server errors; returns the requests stored."""
    taken = TALLY.take()
    if not taken:
        return 0
    try:
        sq.add_server_errors(store, [(model, minute, n) for (model, minute), n in sorted(taken.items())])
    except BaseException:
        TALLY.give_back(taken)
        raise
    return sum(taken.values())
