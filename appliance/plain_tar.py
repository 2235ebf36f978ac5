"""A tar of plain files whose bytes depend only on the files: names and contents, in the order given,
with fixed times, modes and owners. Bundles and code archives are written this way, so the same files
always give the same bytes (and the same sha256)."""

from __future__ import annotations

import io
import tarfile
from typing import Iterable


def pack(members: Iterable[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
