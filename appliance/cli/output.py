"""Print rows as an aligned table, CSV or JSON, and objects as JSON."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from typing import Any, Iterable, Sequence
from appliance.jsonable import plain


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=plain, sort_keys=False)


def printable(text: str, keep_space: bool = False) -> str:
    """`text` with control characters shown escaped (`\\x1b`, `\\n`): stored text (a reason, a label, a
    client's request id) is anyone's, and printed raw an escape sequence in it would drive the reader's
    terminal. `keep_space` leaves newlines and tabs as they are (for text folded onto one line after)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (keep_space and c.isspace())
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return printable(str(value))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows aligned under their columns, for standard output; on a terminal with colour on
    (appliance/cli/colour.py), status words (critical, warning, ok, FAILED, …) are coloured, and the
    alignment and the words stay as they are without colour."""
    from appliance.cli import colour

    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    padded = _coloured if colour.enabled(sys.stdout) else str.ljust
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(padded(v, w) for v, w in zip(row, widths)).rstrip() for row in text_rows]
    return "\n".join(lines)


def _coloured(value: str, width: int) -> str:
    """A cell padded to `width`, its text coloured when it is one status word."""
    from appliance.cli import colour

    style = colour.style_of(value)
    if style is None:
        return value.ljust(width)
    return colour.paint(value, style) + " " * (width - len(value))


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().rstrip("\n")


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row)) for row in rows]


def emit(text: str) -> None:
    sys.stdout.write(text + "\n")


def dict_table(items: list[dict[str, Any]], columns: Sequence[str]) -> str:
    return table(columns, [[item.get(c) for c in columns] for item in items])
