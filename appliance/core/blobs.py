"""Content-addressed files in the home: `<folder>/<sha[:2]>/<sha><suffix>`, written atomically.

A `BlobWriter` remembers the files it created so a failed registration can remove them again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Blob:
    sha256: str
    relative_path: str  # relative to the home
    size_bytes: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class BlobWriter:
    """Puts files into the home by hash; `discard()` removes only the files this writer created."""

    def __init__(self, home_root: Path) -> None:
        self.home_root = home_root
        self.created: list[Path] = []

    def staging_path(self, folder: str, suffix: str) -> Path:
        directory = self.home_root / folder / ".staging"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}-{len(self.created)}-{os.urandom(4).hex()}{suffix}"
        self.created.append(path)
        return path

    def put_bytes(self, folder: str, data: bytes, suffix: str) -> Blob:
        staged = self.staging_path(folder, suffix)
        with staged.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return self.adopt(folder, staged, suffix)

    def adopt(self, folder: str, staged: Path, suffix: str) -> Blob:
        """Move a staged file to its content address (or drop it if that content is already stored)."""
        sha = sha256_file(staged)
        final = self.home_root / folder / sha[:2] / f"{sha}{suffix}"
        size = staged.stat().st_size
        if final.exists():
            staged.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            self.created.append(final)
        return Blob(sha, final.relative_to(self.home_root).as_posix(), size)

    def discard(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        self.created.clear()
