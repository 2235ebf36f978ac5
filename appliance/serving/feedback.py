"""The feedback API's labels: a call's items made one batch, recorded set-wise (`serving/labels.py`), and
the answer shaped: counts per status, and the items themselves (every item of a call of at most
`LIST_EVERY` labels; above that only the labels that were not stored, so a large call's answer stays
small)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from appliance.clock import utc_now
from appliance.contracts.categories import category_text
from appliance.errors import InvalidRequest
from appliance.serving import labels
from appliance.serving.labels import BadLabel, ClassBook, LabelsRefused
from appliance.store.connection import Store

MAX_LABELS = 100_000  # labels in one call
LIST_EVERY = 1_000  # calls up to this many labels list every item's result
MAX_ERRORS = 1_000  # bad labels named in one refusal (the message says how many there were)


class FeedbackRecorder:
    def __init__(self, store: Store, home_root: Path) -> None:
        self._store = store
        self.book = ClassBook(home_root)

    def record(self, model_name: str, items: list[dict[str, Any]], *, listed: bool = True) -> dict[str, Any]:
        """The answer to a call (items as the edge validated them: `request_id`, `row_index`, `label`,
        `event_time` as a datetime or None): `counts`, `results`, and which results are listed.

        A label the answering version cannot have, or a row named twice, is a 400 naming each such item's
        field (`labels[i].label`, or `label` when the body is one label), and nothing is recorded."""
        batch = batch_of_items(items)
        with self._store.cursor() as store:  # a handle of the call's own: calls arrive on many threads at once
            try:
                statuses = labels.record(store, self.book, model_name, batch, utc_now())
            except LabelsRefused as e:
                raise refusal(e.bad, listed) from None
        return answer(statuses)


def batch_of_items(items: list[dict[str, Any]]) -> pl.DataFrame:
    """The items as a label batch: each label's category text, number and stored text, by the one rule."""
    values = [item["label"] for item in items]
    return labels.as_batch({
        "index": labels.positions(len(items)),
        "request_id": [item["request_id"] for item in items],
        "row_index": [item.get("row_index", 0) for item in items],
        "label_text": [category_text(v) for v in values],
        "label_number": [float(v) if type(v) in (int, float) else None for v in values],
        "label_shown": [_shown(v) for v in values],
        "event_time": [item.get("event_time") for item in items],
    })


def _shown(value: Any) -> str:
    """A label as stored and quoted: text itself, booleans as true/false, numbers as Python writes them."""
    text = category_text(value)
    return text if text is not None else str(value)


def answer(statuses: pl.DataFrame) -> dict[str, Any]:
    every = statuses.height <= LIST_EVERY
    shown = statuses if every else statuses.filter(pl.col("status").is_in(labels.NOT_ANSWERED))
    results = []
    for index, request_id, row_index, status, problem in shown.iter_rows():
        result = {"index": index, "request_id": request_id, "row_index": row_index, "status": status}
        results.append(result | {"problem": problem} if problem is not None else result)
    return {"counts": labels.counts(statuses), "listed": "all" if every else "not_answered", "results": results}


def refusal(bad: list[BadLabel], listed: bool) -> InvalidRequest:
    """The 400 for a batch with bad labels: each (up to MAX_ERRORS) named by its field."""
    problems = [{"field": f"labels[{b.index}].{b.part}" if listed else b.part, "problem": b.problem, "kind": b.kind}
                for b in sorted(bad, key=lambda b: b.index)[:MAX_ERRORS]]
    first = problems[0]
    more = f" (and {len(bad) - 1} more bad label(s); nothing was recorded)" if len(bad) > 1 else ""
    return InvalidRequest(f"{first['field']}: {first['problem']}{more}", problems, reason=first["kind"])
