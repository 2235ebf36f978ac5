"""Reading stored estimates: a model's estimate runs overlapping a period, with their chunks' values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.home.context import AppContext
from appliance.registry.versions import require_model
from appliance.store import estimate_queries as eq


def stored_estimates(ctx: AppContext, model_name: str, start: datetime | None = None, end: datetime | None = None,
                     limit: int = 20) -> dict[str, Any]:
    """The newest `limit` runs overlapping [start, end) (all times when not given), each with its chunks."""
    require_model(ctx.store, model_name)
    runs = eq.runs(ctx.store, model_name, start, end, limit)
    values = eq.estimates_of(ctx.store, [int(r["run_id"]) for r in runs])
    for run in runs:
        chunks: dict[int, dict[str, Any]] = {}
        for value in (v for v in values if v["run_id"] == run["run_id"]):
            chunk = chunks.setdefault(value["chunk_index"], {
                "chunk_index": value["chunk_index"], "start": value["chunk_start"], "end": value["chunk_end"],
                "rows": value["rows"], "labelled_rows": value["labelled_rows"], "estimates": []})
            chunk["estimates"].append({k: value[k] for k in ("metric", "estimate", "sampling_error", "lower", "upper",
                                                              "lower_threshold", "upper_threshold", "alert",
                                                              "realized")})
        run["chunks"] = list(chunks.values())
    return {"model": model_name, "runs": runs}
