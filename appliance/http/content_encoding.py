"""Compressed request and response bodies (`Content-Encoding` / `Accept-Encoding`: gzip and deflate).

A compressed body is decompressed a bounded piece at a time: it may expand to at most the same
number of bytes as an uncompressed body may have (`serving.max_body_bytes`), so a few kilobytes of
gzip that would expand to gigabytes (a decompression bomb) are refused with 413 once the bound is
passed, without ever holding more than the bound in memory. `deflate` is the zlib format (RFC 9110,
what tritonclient sends); a raw deflate stream, which some clients send under that name, is taken too.
"""

from __future__ import annotations

import zlib

from appliance.errors import InvalidRequest

SUPPORTED = ("gzip", "deflate", "identity")
MIN_COMPRESSED_RESPONSE = 1024  # smaller answers are sent as they are: compressing them saves nothing
MAX_MEMBERS = 64  # gzip members in one body (clients send one; RFC 1952 allows several)
_GZIP, _ZLIB, _RAW = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS
_ALIASES = {"x-gzip": "gzip"}


def decoded(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """`body` decompressed as `content_encoding` says; 415 for an encoding not supported, 400 for a
    corrupt stream, 413 when it expands past `limit` bytes (serving.max_body_bytes)."""
    encoding = _encoding(content_encoding)
    if encoding == "identity" or not body:
        return body
    if encoding == "gzip":
        return _inflate(body, _GZIP, encoding, limit)
    try:
        return _inflate(body, _ZLIB, encoding, limit)
    except InvalidRequest as e:
        if e.reason != "invalid_encoding":
            raise
        return _inflate(body, _RAW, encoding, limit)


def _encoding(header: str | None) -> str:
    if header is None or not header.strip():
        return "identity"
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [_ALIASES.get(c, c) for c in codings if c != "identity"] or ["identity"]
    if len(codings) > 1 or codings[0] not in SUPPORTED:
        problem = f"{header.strip()!r} is not supported; send the body as it is, or with one of gzip, deflate"
        raise InvalidRequest(f"Content-Encoding: {problem}", [
            {"field": "Content-Encoding", "problem": problem, "kind": "unsupported_encoding"}],
            status=415, reason="unsupported_encoding")
    return codings[0]


def _inflate(body: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    """Every member of the stream (gzip allows several, one after another), never more than `limit` bytes
    and at most MAX_MEMBERS members: each member starts over on the rest of the body, so a megabyte of
    empty members would otherwise cost seconds of copying."""
    pieces: list[bytes] = []
    size, rest = 0, body
    while rest:
        if len(pieces) == MAX_MEMBERS:
            raise _corrupt(encoding, f"more than {MAX_MEMBERS} gzip members one after another")
        inflater = zlib.decompressobj(wbits)
        try:
            piece = inflater.decompress(rest, limit - size + 1)
        except zlib.error as e:
            raise _corrupt(encoding, str(e)) from None
        size += len(piece)
        if size > limit or inflater.unconsumed_tail:
            raise _too_large(encoding, limit)
        if not inflater.eof:
            raise _corrupt(encoding, "the stream ends before its end marker")
        pieces.append(piece)
        rest = inflater.unused_data
        if wbits != _GZIP and rest:
            raise _corrupt(encoding, f"{len(rest)} bytes follow the end of the stream")
    return b"".join(pieces)


def _corrupt(encoding: str, detail: str) -> InvalidRequest:
    problem = f"the body is not valid {encoding} data ({detail})"
    return InvalidRequest(f"Content-Encoding: {problem}", [
        {"field": "Content-Encoding", "problem": problem, "kind": "invalid_encoding"}], reason="invalid_encoding")


def _too_large(encoding: str, limit: int) -> InvalidRequest:
    problem = f"the {encoding} body expands to more than {limit} bytes (serving.max_body_bytes)"
    return InvalidRequest(f"(body): {problem}", [{"field": "(body)", "problem": problem, "kind": "body_too_large"}],
                          status=413, reason="body_too_large")


def accepted(accept_encoding: str | None) -> str | None:
    """The response coding to use for an `Accept-Encoding` header: gzip, else deflate, else None.
    A coding with `q=0` is one the client refuses."""
    wanted: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        wanted[_ALIASES.get(coding.strip().lower(), coding.strip().lower())] = quality
    for coding in ("gzip", "deflate"):
        if wanted.get(coding, wanted.get("*", 0.0)) > 0:
            return coding
    return None


def compressed(body: bytes, coding: str) -> bytes:
    """`body` in `coding` (gzip, or deflate as the zlib format)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP if coding == "gzip" else _ZLIB)
    return compressor.compress(body) + compressor.flush()
