"""Verifying the audit log: its hash chain, and its head against the anchors kept outside the store.

A changed row no longer matches its own hash; a removed row, or one inserted between others, breaks
the link to the previous row's hash. A cut tail or a chain rewritten from some row on (hashes
recomputed) keeps the chain whole, so every commit that adds audit rows also appends the new head,
signed, to the anchor file (`store/audit_anchors.py`): the store must still have each anchored head
at its anchored row count, and no rows beyond the last anchor.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from appliance.store import audit_queries as auq
from appliance.store.audit_anchors import Anchor, AuditAnchors
from appliance.store.connection import Store


def verify(store: Store, *, anchored: bool = True) -> dict[str, Any]:
    """{ok, rows, head, first_bad_row, problem, anchors}: the chain, then (unless not `anchored`: a
    restored backup from before anchoring) the anchors; the first problem is named."""
    anchors = store.anchors if anchored else None
    with anchors.lock if anchors is not None else nullcontext():  # no commit between reading the two
        rows = auq.recomputed(store)
        found = anchors.read() if anchors is not None else []
        has_key = anchors is not None and anchors.public_key() is not None
    summary = _summary(anchors, found)
    for row_id, action, prev_hash, row_hash, expected_prev, recomputed in rows:
        if (prev_hash or "") != expected_prev:
            return _broken(len(rows), row_id, f"row {row_id} ({action}) does not follow the row before it: a row "
                           "was removed before it, or it was inserted", summary)
        if recomputed != row_hash:
            return _broken(len(rows), row_id, f"row {row_id} ({action}) was changed after it was written", summary)
    if anchors is not None:
        problem = _against_anchors(rows, found, anchors, has_key)
        if problem is not None:
            return _broken(len(rows), problem[0], problem[1], summary)
    return {"ok": True, "rows": len(rows), "head": rows[-1][3] if rows else "", "first_bad_row": None,
            "problem": None, "anchors": summary}


def _summary(anchors: AuditAnchors | None, found: list[Anchor]) -> dict[str, Any] | None:
    if anchors is None:
        return None  # an in-memory store has no home to anchor in
    return {"file": str(anchors.path), "lines": len(found), "anchored_rows": max((a.rows for a in found), default=0)}


def _against_anchors(rows: list[tuple[Any, ...]], found: list[Anchor], anchors: AuditAnchors,
                     has_key: bool) -> tuple[int | None, str] | None:
    """(first bad row id or None, problem) of the first disagreement between the store and its anchors."""
    if found and not has_key:
        return None, f"the audit-anchor key {anchors.key_path} is missing: the {len(found)} anchors cannot be checked"
    for anchor in found:
        if not anchor.signed:
            return None, (f"anchor line {anchor.line} of {anchors.path} has a bad signature (or does not parse): "
                          "it was forged or altered")
    if not found:
        return (None, f"audit log has {len(rows)} rows but {anchors.path} anchors none: the anchor file was "
                "removed or emptied, or the rows were written around Vigil") if rows else None
    return _cut_tail(rows, found) or _rewritten(rows, found) or _unanchored(rows, found)


def _cut_tail(rows: list[tuple[Any, ...]], found: list[Anchor]) -> tuple[int | None, str] | None:
    longest = max(found, key=lambda a: (a.rows, a.line))
    if longest.rows <= len(rows):
        return None
    return None, (f"audit log has {len(rows)} rows but anchor {longest.line} recorded {longest.rows} rows with head "
                  f"{longest.head} (last id {longest.last_id}): rows were cut from the end")


def _rewritten(rows: list[tuple[Any, ...]], found: list[Anchor]) -> tuple[int | None, str] | None:
    def matches(anchor: Anchor) -> bool:
        return anchor.rows == 0 or rows[anchor.rows - 1][3] == anchor.head

    broken = [a for a in found if not matches(a)]
    if not broken:
        return None
    first = min(broken, key=lambda a: (a.rows, a.line))
    still = max((a.rows for a in found if matches(a) and a.rows < first.rows), default=0)
    start, end = rows[still][0], rows[first.rows - 1][0]
    return start, (f"audit log was rewritten: at {first.rows} rows its head is {rows[first.rows - 1][3]}, but anchor "
                   f"{first.line} recorded {first.head}; the rewrite begins between row {start} and row {end}")


def _unanchored(rows: list[tuple[Any, ...]], found: list[Anchor]) -> tuple[int | None, str] | None:
    anchored = max(a.rows for a in found)
    if anchored >= len(rows):
        return None
    return rows[anchored][0], (f"rows {rows[anchored][0]} to {rows[-1][0]} ({len(rows) - anchored}) come after the "
                               f"last anchor ({anchored} rows): written around Vigil, or a crash came between their "
                               "commit and their anchor (the next audited change anchors them)")


def recent(store: Store, text: str, limit: int) -> dict[str, Any]:
    """The newest audit rows matching `text`, with the chain's verification."""
    from appliance.store.console_queries import audit_rows

    return {"rows": audit_rows(store, text, limit), "verification": verify(store)}


def _broken(count: int, row_id: int | None, problem: str, anchors: dict[str, Any] | None) -> dict[str, Any]:
    return {"ok": False, "rows": count, "head": None, "first_bad_row": row_id, "problem": problem,
            "anchors": anchors}
