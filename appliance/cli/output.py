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


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in text_rows]
    return "\n".join(lines)


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
