"""appliance/core/blobs.py: content-addressed files and discarding what a writer created."""

from __future__ import annotations

import hashlib
from pathlib import Path

from appliance.core.blobs import Blob, BlobWriter, sha256_file


def stored_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_bytes_addresses_content_by_sha256(tmp_path: Path) -> None:
    data = b"model bytes"
    sha = hashlib.sha256(data).hexdigest()
    blob = BlobWriter(tmp_path).put_bytes("artifacts", data, ".skops")
    assert blob == Blob(sha, f"artifacts/{sha[:2]}/{sha}.skops", len(data))
    assert (tmp_path / blob.relative_path).read_bytes() == data
    assert sha256_file(tmp_path / blob.relative_path) == sha
    assert stored_files(tmp_path) == [blob.relative_path]  # the staged copy was moved, not left behind


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    first, second = BlobWriter(tmp_path), BlobWriter(tmp_path)
    a = first.put_bytes("artifacts", b"same", ".skops")
    b = second.put_bytes("artifacts", b"same", ".skops")
    assert a == b
    assert first.created[-1] == tmp_path / a.relative_path
    assert tmp_path / b.relative_path not in second.created
    assert stored_files(tmp_path) == [a.relative_path]


def test_discard_removes_only_files_this_writer_created(tmp_path: Path) -> None:
    earlier = BlobWriter(tmp_path).put_bytes("artifacts", b"kept", ".skops")
    writer = BlobWriter(tmp_path)
    reused = writer.put_bytes("artifacts", b"kept", ".skops")
    new = writer.put_bytes("datasets", b"new", ".parquet")
    staged = writer.staging_path("datasets", ".parquet")
    staged.write_bytes(b"half written")
    writer.discard()
    assert reused == earlier
    assert stored_files(tmp_path) == [earlier.relative_path]
    assert not (tmp_path / new.relative_path).exists() and not staged.exists()
    assert writer.created == []


def test_adopt_moves_a_staged_file(tmp_path: Path) -> None:
    writer = BlobWriter(tmp_path)
    staged = writer.staging_path("datasets", ".parquet")
    assert staged.parent == tmp_path / "datasets" / ".staging"
    staged.write_bytes(b"rows")
    blob = writer.adopt("datasets", staged, ".parquet")
    assert blob.sha256 == hashlib.sha256(b"rows").hexdigest() and blob.size_bytes == 4
    assert not staged.exists() and (tmp_path / blob.relative_path).read_bytes() == b"rows"
