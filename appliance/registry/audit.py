"""Verifying the audit log's hash chain.

A changed row no longer matches its own hash; a removed row, or one inserted between others, breaks
the link to the previous row's hash. Verification reports the first such row and the head hash,
which an operator can record elsewhere (a ticket, a log shipper) so that rewriting the whole chain
from some row on is detectable too.
"""

from __future__ import annotations

from typing import Any

from appliance.store import audit_queries as auq
from appliance.store.connection import Store


def verify(store: Store) -> dict[str, Any]:
    rows = auq.recomputed(store)
    for row_id, action, prev_hash, row_hash, expected_prev, recomputed in rows:
        if (prev_hash or "") != expected_prev:
            return _broken(len(rows), row_id, f"row {row_id} ({action}) does not follow the row before it: a row "
                           "was removed before it, or it was inserted")
        if recomputed != row_hash:
            return _broken(len(rows), row_id, f"row {row_id} ({action}) was changed after it was written")
    return {"ok": True, "rows": len(rows), "head": rows[-1][3] if rows else "", "first_bad_row": None,
            "problem": None}


def recent(store: Store, text: str, limit: int) -> dict[str, Any]:
    """The newest audit rows matching `text`, with the chain's verification."""
    from appliance.store.console_queries import audit_rows

    return {"rows": audit_rows(store, text, limit), "verification": verify(store)}


def _broken(count: int, row_id: int, problem: str) -> dict[str, Any]:
    return {"ok": False, "rows": count, "head": None, "first_bad_row": row_id, "problem": problem}
