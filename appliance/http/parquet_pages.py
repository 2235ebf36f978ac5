"""How many bytes a Parquet column chunk's pages say they decompress to, read from their page headers.

A Parquet file's footer states each column chunk's uncompressed size, but that is only a claim: Arrow
decompresses each page into a buffer of the size its own page header gives. A client can write a true
page of 200 MB of one character (a few kilobytes with zstd) and a footer claiming 100 bytes; checking
the footer alone, the daemon would allocate and fill the 200 MB before finding out. So the page headers
of every column chunk that will be read are walked first, over the same bytes Arrow reads (the chunk's
range from the footer, plus the padding Arrow adds to files of parquet-mr before 1.2.9), and their sizes
summed.

Page headers are Thrift structs in the compact protocol (parquet-format's `PageHeader`: field 2 is
`uncompressed_page_size`, field 3 `compressed_page_size`, both i32); every other field is skipped
without being read. A header that cannot be parsed ends the walk: Arrow cannot read it either.
"""

from __future__ import annotations

import re
from typing import Any

ARROW_PADDING = 100  # bytes Arrow reads past a chunk's stated end in files of parquet-mr before 1.2.9
_PARQUET_MR = re.compile(r"parquet-mr version (\d+)\.(\d+)\.(\d+)")
_MAX_HEADER_DEPTH = 16


class _Truncated(Exception):
    """The bytes end, or stop making sense, inside a page header."""


def declared_size(body: bytes, metadata: Any, columns: list[int]) -> int | None:
    """The sum of `uncompressed_page_size` over every page of the column chunks at `columns` (positions in
    the footer's schema), in every row group; None when the chunks overlap (no writer makes such a file, and
    walking the same bytes once per chunk could take a long time)."""
    padding = _padding(metadata.created_by or "")
    total, chunks, walked = 0, 0, 0
    for group in range(metadata.num_row_groups):
        for position in columns:
            size, length = _chunk_size(body, metadata.row_group(group).column(position), padding)
            total, walked, chunks = total + size, walked + length, chunks + 1
            if walked > len(body) + padding * chunks:
                return None
    return total


def _padding(created_by: str) -> int:
    """Arrow's workaround for files of parquet-mr before 1.2.9 (PARQUET-816): it reads a chunk's range plus
    up to ARROW_PADDING bytes. Any other writer's chunks are read as the footer states them."""
    if not created_by.lower().startswith("parquet-mr"):
        return 0
    found = _PARQUET_MR.match(created_by.lower())
    return 0 if found and tuple(map(int, found.groups())) >= (1, 2, 9) else ARROW_PADDING


def _chunk_size(body: bytes, chunk: Any, padding: int) -> tuple[int, int]:
    """(the pages' uncompressed sizes summed, how many bytes were walked) of one column chunk."""
    start = chunk.data_page_offset
    if chunk.has_dictionary_page and 0 < chunk.dictionary_page_offset < start:
        start = chunk.dictionary_page_offset
    end = min(len(body), start + max(0, chunk.total_compressed_size) + padding)
    total, position = 0, start
    while 0 <= position < end:
        try:
            uncompressed, compressed, position = _page_header(body, position)
        except _Truncated:
            break
        total += max(0, uncompressed)
        if compressed < 0:
            break
        position += compressed
    return total, max(0, min(position, end) - max(start, 0))


def _page_header(body: bytes, position: int) -> tuple[int, int, int]:
    """(uncompressed_page_size, compressed_page_size, where the page's data starts) of the header at `position`."""
    reader = _Reader(body, position)
    sizes = {2: 0, 3: 0}
    field = 0
    while True:
        field, kind = reader.field_header(field)
        if kind == 0:
            return sizes[2], sizes[3], reader.position
        if field in sizes and kind == 5:
            sizes[field] = reader.zigzag()
        else:
            reader.skip(kind, 0)


class _Reader:
    """A cursor over Thrift compact-protocol bytes."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise _Truncated()
        value = self.data[self.position]
        self.position += 1
        return value

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            found = self.byte()
            value |= (found & 0x7F) << shift
            if not found & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise _Truncated()

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def field_header(self, last: int) -> tuple[int, int]:
        """(field id, type) of the next field; type 0 is the end of the struct."""
        found = self.byte()
        kind, delta = found & 0x0F, found >> 4
        if kind == 0:
            return last, 0
        return (last + delta if delta else self.zigzag()), kind

    def skip(self, kind: int, depth: int) -> None:
        """Step over one value of compact type `kind` (booleans in a field header carry no bytes)."""
        if depth > _MAX_HEADER_DEPTH:
            raise _Truncated()
        if kind in (1, 2):
            return
        if kind == 3:
            self.byte()
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.position += 8
        elif kind == 8:
            length = self.varint()
            self.position += length
        elif kind in (9, 10):
            self._skip_list(depth)
        elif kind == 11:
            self._skip_map(depth)
        elif kind == 12:
            self._skip_struct(depth)
        else:
            raise _Truncated()
        if self.position > len(self.data):
            raise _Truncated()

    def _skip_list(self, depth: int) -> None:
        found = self.byte()
        size, element = found >> 4, found & 0x0F
        if size == 15:
            size = self.varint()
        for _ in range(size):
            self._element(element, depth)

    def _skip_map(self, depth: int) -> None:
        size = self.varint()
        if size == 0:
            return
        kinds = self.byte()
        for _ in range(size):
            self._element(kinds >> 4, depth)
            self._element(kinds & 0x0F, depth)

    def _element(self, kind: int, depth: int) -> None:
        """One element of a list or map: every one takes at least a byte (a boolean is one byte here)."""
        if kind in (1, 2):
            self.byte()
        else:
            self.skip(kind, depth + 1)

    def _skip_struct(self, depth: int) -> None:
        field = 0
        while True:
            field, kind = self.field_header(field)
            if kind == 0:
                return
            self.skip(kind, depth + 1)
