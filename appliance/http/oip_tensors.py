"""An inference request's input tensors, read and checked: JSON `data`, or binary data after the JSON header.

Every problem is a 400 naming the input (`inputs.carrier: ...`): a datatype or shape this server does
not take, `data` whose nesting or count disagrees with `shape`, binary data whose sizes do not add up
to the body (`binary_data_size` past the end, or bytes that belong to no input), a BYTES element whose
4-byte length prefix runs past its tensor's data, and BYTES that are not valid UTF-8 text. Nothing is
truncated or guessed: a tensor is read exactly as its header describes it, or refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from appliance.errors import InvalidRequest
from appliance.http import json_body
from appliance.http.oip_bodies import RequestInput

NUMPY = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4", "BOOL": "?"}
INT_RANGES = {"INT64": (-2**63, 2**63 - 1), "INT32": (-2**31, 2**31 - 1)}


@dataclass(frozen=True, slots=True)
class Tensor:
    datatype: str
    values: Any  # a NumPy array (binary numbers) or a list (JSON data, BYTES)


def bad(field: str, problem: str, kind: str = "invalid_body") -> InvalidRequest:
    return InvalidRequest(f"{field}: {problem}", [{"field": field, "problem": problem, "kind": kind}], reason=kind)


def read(inputs: list[RequestInput], binary: bytes) -> dict[str, Tensor]:
    """Each input tensor by name; binary data is taken in the order of the inputs, and must be used up."""
    tensors: dict[str, Tensor] = {}
    offset = 0
    for tensor in inputs:
        where = f"inputs.{tensor.name}"
        if tensor.name in tensors:
            raise bad(where, "given twice")
        count = _count(tensor, where)
        size = (tensor.parameters or {}).get("binary_data_size")
        if size is None:
            values = _from_json(tensor.data, tensor.datatype, tensor.shape, where)
        else:
            raw = _binary_part(tensor, size, binary, offset, where)
            values = _decode(raw, tensor.datatype, count, where)
            offset += len(raw)
        tensors[tensor.name] = Tensor(tensor.datatype, values)
    if offset != len(binary):
        raise bad("(body)", f"{len(binary) - offset} bytes of binary data belong to no input (the inputs' "
                  f"binary_data_size add up to {offset})")
    return tensors


def _count(tensor: RequestInput, where: str) -> int:
    if tensor.datatype not in NUMPY and tensor.datatype != "BYTES":
        raise bad(where, f"datatype {tensor.datatype!r} is not one of FP64, FP32, INT64, INT32, BOOL, BYTES",
                  "wrong_type")
    shape = tensor.shape
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise bad(where, f"shape {shape} is not [N] or [N, 1] (one value per row)")
    return shape[0]


def _binary_part(tensor: RequestInput, size: Any, binary: bytes, offset: int, where: str) -> bytes:
    if tensor.data is not None:
        raise bad(where, "has both 'data' and parameters.binary_data_size; send one")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise bad(f"{where}.parameters.binary_data_size", "must be a non-negative integer")
    if offset + size > len(binary):
        raise bad(where, f"binary_data_size {size} runs past the end of the body ({len(binary) - offset} bytes of "
                  "binary data left; Inference-Header-Content-Length gives where they start)")
    return binary[offset:offset + size]


def _decode(raw: bytes, datatype: str, count: int, where: str) -> Any:
    values: Any
    if datatype == "BYTES":
        values = _elements(raw, where)
    else:
        dtype = np.dtype(NUMPY[datatype])
        if len(raw) != count * dtype.itemsize:
            raise bad(where, f"binary_data_size {len(raw)} is not {count} elements of {dtype.itemsize} bytes "
                      f"({count * dtype.itemsize}) as its shape says")
        values = np.frombuffer(raw, dtype=dtype)
        if datatype == "BOOL" and np.any(np.frombuffer(raw, dtype=np.uint8) > 1):
            raise bad(where, "BOOL binary data must be bytes 0 or 1", "wrong_type")
    if len(values) != count:
        raise bad(where, f"shape says {count} elements, data has {len(values)}")
    return values


def _elements(raw: bytes, where: str) -> list[str]:
    """BYTES binary data: each element's 4-byte little-endian length, then that many bytes of UTF-8 text."""
    values: list[str] = []
    position = 0
    while position < len(raw):
        element = f"{where}[{len(values)}]"
        if position + 4 > len(raw):
            raise bad(element, f"{len(raw) - position} bytes left where a 4-byte length prefix was expected")
        (length,) = struct.unpack_from("<I", raw, position)
        if position + 4 + length > len(raw):
            raise bad(element, f"length prefix {length} runs past the end of the tensor's data "
                      f"({len(raw) - position - 4} bytes left)")
        values.append(_text(raw[position + 4:position + 4 + length], element))
        position += 4 + length
    return values


def _text(raw: bytes, where: str) -> str:
    """One BYTES element as text: valid UTF-8 without NUL, like every text Vigil accepts."""
    try:
        text = raw.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise bad(where, f"is not valid UTF-8 (byte {e.start}); BYTES inputs must be text", "invalid_text") from None
    json_body.check_text(text, where)
    return text


def _from_json(data: list[Any] | None, datatype: str, shape: list[int], where: str) -> list[Any]:
    if data is None:
        raise bad(where, "needs 'data', or parameters.binary_data_size with binary data after the JSON")
    flat = _flat(data, shape, where)
    if datatype == "BOOL" and not all(isinstance(v, bool) for v in flat):
        raise bad(where, "BOOL data must be true/false", "wrong_type")
    if datatype in INT_RANGES and not all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        raise bad(where, f"{datatype} data must be integers", "wrong_type")
    if datatype in INT_RANGES and not all(INT_RANGES[datatype][0] <= v <= INT_RANGES[datatype][1] for v in flat):
        low, high = INT_RANGES[datatype]
        raise bad(where, f"{datatype} data must fit {datatype} ({low} to {high})", "number_too_large")
    if datatype == "BYTES" and not all(isinstance(v, str) for v in flat):
        raise bad(where, "BYTES data must be strings", "wrong_type")
    return flat


def _flat(data: list[Any], shape: list[int], where: str) -> list[Any]:
    """`data` flat (as the protocol allows) or one value per row nested ([[v], [v], ...]): the same N
    elements in row-major order, which KServe's own server reshapes to [N] or [N, 1] alike."""
    if len(data) != shape[0]:
        raise bad(where, f"shape {shape} says {shape[0]} rows, data has {len(data)} values")
    nested = [isinstance(v, list) for v in data]
    if not any(nested):
        return data
    if not all(nested) or any(len(v) != 1 or isinstance(v[0], list) for v in data):
        raise bad(where, f"data is nested unlike its shape {shape}: send it flat, or as [[value], ...] for [N, 1]")
    return [v[0] for v in data]
