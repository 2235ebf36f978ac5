"""The data-quality shares a monitor check observes: flagged rows of answered rows, in [0, 1]."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.contracts.features import features_from_json
from appliance.core.inputs import Inputs
from appliance.core.periods import Period
from appliance.home import Home
from appliance.home.context import open_context
from appliance.monitoring.checks import run_check
from appliance.registry.versions import get_version
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.store import prediction_queries as pq


def test_flagged_share_is_flagged_rows_of_answered_rows(fresh_home: Path, sample_records: list[dict[str, Any]]) -> None:
    """Two requests of 10 rows; 3 rows flagged, one of them twice: 3 / 20, not 4 flags / 2 requests."""
    flags = [["unknown_category:carrier", "out_of_range:temp"], ["out_of_range:temp"]] + [[] for _ in range(8)]
    with open_context(Home(fresh_home)) as ctx:
        features = features_from_json(get_version(ctx.store, "delay", 1)["features"])
        pq.ensure_inputs_table(ctx.store, "delay", features)
        log = PredictionLog(ctx.store.cursor())
        for request_id, rows, row_flags in (("r1", sample_records[:10], flags),
                                            ("r2", sample_records[10:20], [["unknown_category:origin"]] + [[]] * 9)):
            inputs = Inputs.from_polars(pl.DataFrame(rows), features)
            record = LogRecord(request_id, "delay", 1, "champion", "native", np.zeros(10), np.full(10, 0.2), 1.0,
                               row_flags, inputs, logged_at=utc_now() - timedelta(minutes=2))
            log.submit(record)
            log.wait(record)
        log.close()
        summary, _ = run_check(ctx, "delay", period=Period.ending(utc_now(), timedelta(minutes=15)), trigger="t",
                               actor="t", rules=[])
        shares = dict(ctx.store.execute("SELECT metric, value FROM monitor_observations WHERE run_id = ? AND "
                                        "metric IN ('flagged_share', 'rejected_share')", [summary["run_id"]]))
    assert shares == {"flagged_share": 3 / 20, "rejected_share": 0.0}
