"""Storing and finding a version's reference profile (content-addressed file + `reference_profiles` row)."""

from __future__ import annotations

import hashlib
import logging
from typing import Callable

from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.monitoring.profile import FORMAT, Profile, from_bytes, to_bytes
from appliance.core.blobs import Blob, BlobWriter
from appliance.store import drift_queries as dq

log = logging.getLogger("vigil.monitoring")
PREDICTION = "(prediction)"


def find_profiles(ctx: AppContext, model_name: str, version: int) -> dict[str, Profile] | None:
    row = dq.find_profile(ctx.store, model_name, version, FORMAT)
    if row is None:
        return None
    data = read_derived(ctx, row["profile_path"], row["profile_sha256"], "reference profile")
    try:
        return from_bytes(data) if data is not None else None
    except (OSError, ValueError, KeyError) as e:
        log.warning("reference profile %s unusable (%s); rebuilding it", row["profile_path"], e)
        return None


def read_derived(ctx: AppContext, relative_path: str, sha256: str, what: str) -> bytes | None:
    """A derived file's bytes if it holds the content its record names; else None, and a file with other
    content is removed, so the file derived again can take its content address (`keep_derived`)."""
    path = ctx.home.root / relative_path
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        path.unlink()
        log.warning("%s %s does not hold the content its record names; deriving it again", what, path)
    except OSError as e:
        log.warning("%s %s unreadable (%s); deriving it again", what, path, e)
    return None


def store_profiles(ctx: AppContext, model_name: str, version: int, profiles: dict[str, Profile]) -> None:
    """Keep the profile for later checks."""
    def record(blob: Blob) -> None:
        dq.upsert_profile(ctx.store, dict(
            model_name=model_name, version=version, profile_format=FORMAT, profile_sha256=blob.sha256,
            profile_path=blob.relative_path, profile_bytes=blob.size_bytes,
            reference_rows=profiles[PREDICTION].rows, created_at=utc_now()))

    keep_derived(ctx, to_bytes(profiles), ".profile.npz", record,
                 f"the reference profile of {model_name} v{version}")


def keep_derived(ctx: AppContext, data: bytes, suffix: str, record: Callable[[Blob], None], what: str) -> None:
    """Keep a file derived from a version's training rows (a profile, a fit) under datasets/ and `record` it,
    in one transaction; a read-only store, or any failure, only costs deriving it again next time."""
    if ctx.store.read_only:
        return
    writer = BlobWriter(ctx.home.root)
    try:
        blob = writer.put_bytes("datasets", data, suffix)
        with ctx.store.transaction():
            record(blob)
    except Exception as e:  # noqa: BLE001 - derived data: never fail a drift check for it
        writer.discard()
        log.warning("could not store %s: %s", what, e)
