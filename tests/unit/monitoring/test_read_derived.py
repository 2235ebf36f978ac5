"""A derived reference file is used only when it holds the content its record names; one that does not is
removed, so the file derived again can take its content address instead of being dropped as a duplicate."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from appliance.core.blobs import BlobWriter
from appliance.monitoring.reference import read_derived


def test_a_damaged_derived_file_is_removed_and_its_address_freed(tmp_path: Path) -> None:
    ctx: Any = SimpleNamespace(home=SimpleNamespace(root=tmp_path))
    blob = BlobWriter(tmp_path).put_bytes("datasets", b"profile", ".profile.npz")
    assert read_derived(ctx, blob.relative_path, blob.sha256, "profile") == b"profile"
    (tmp_path / blob.relative_path).write_bytes(b"damaged")
    assert read_derived(ctx, blob.relative_path, blob.sha256, "profile") is None
    assert not (tmp_path / blob.relative_path).exists()
    again = BlobWriter(tmp_path).put_bytes("datasets", b"profile", ".profile.npz")
    assert (tmp_path / again.relative_path).read_bytes() == b"profile"
    assert hashlib.sha256(b"profile").hexdigest() == again.sha256
    assert read_derived(ctx, "datasets/none.npz", again.sha256, "profile") is None
