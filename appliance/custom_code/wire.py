"""The messages between a model's code process and Vigil: a JSON header and a byte payload, each
length-prefixed. Frames travel as Arrow IPC (polars), answers as `.npy` without pickles, so neither
side ever unpickles what the other sends."""

from __future__ import annotations

import io
import json
import struct
from typing import IO, Any

import numpy as np

_LENGTHS = struct.Struct(">II")
MAX_HEADER = 1 << 20
MAX_PAYLOAD = 1 << 30


def send(stream: IO[bytes], header: dict[str, Any], payload: bytes = b"") -> None:
    encoded = json.dumps(header).encode("utf-8")
    stream.write(_LENGTHS.pack(len(encoded), len(payload)) + encoded + payload)
    stream.flush()


def receive(read: Any, max_payload: int = MAX_PAYLOAD) -> tuple[dict[str, Any], bytes]:
    """One message, using `read(n)` (which returns exactly n bytes or raises EOFError); a message longer
    than the protocol (or the caller's `max_payload`) allows is refused before it is read."""
    header_size, payload_size = _LENGTHS.unpack(read(_LENGTHS.size))
    if header_size > MAX_HEADER or payload_size > min(max_payload, MAX_PAYLOAD):
        raise EOFError(f"it sent a message of {payload_size} bytes, longer than the call's answer may be")
    header = json.loads(read(header_size).decode("utf-8"))
    return header, read(payload_size) if payload_size else b""


def exact_reader(stream: IO[bytes]) -> Any:
    def read(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = stream.read(left)
            if not chunk:
                raise EOFError("the other side closed the stream")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    return read


def array_bytes(values: Any) -> bytes:
    array = np.asarray(values)
    if array.dtype == object:
        array = array.astype(str)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def array_from(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)
