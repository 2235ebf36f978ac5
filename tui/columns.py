"""Column priorities: which of a table's columns a narrow terminal shows.

Each column has a priority (1 is kept longest). When the columns' natural widths do not fit, the
columns with nothing in them (every cell `-` or empty: no canary anywhere) go first, then the
lowest-priority ones, until the rest fit; priority-1 columns always stay. The kept columns stay in
their declared order, and the screen names the hidden ones, so a narrow view says what it leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rich.cells import cell_len
from textual.widgets import DataTable

from tui.base import filtered, replace_rows

EMPTY = ("", "-")
PADDING = 2  # a DataTable cell's padding, one each side
SCROLLBAR = 2  # room kept for the vertical scrollbar


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    priority: int = 1
    cap: int | None = None  # counted at most this wide when fitting (a long title runs off to the right)


def natural_width(column: Column, cells: Sequence[Any]) -> int:
    width = max([cell_len(column.label), *(cell_len(str(c)) for c in cells)])
    return min(width, column.cap or width) + PADDING


def kept(columns: Sequence[Column], rows: Sequence[Sequence[Any]], width: int) -> list[int]:
    """The indexes of the columns that fit in `width`, dropping empty then low-priority ones first."""
    widths = [natural_width(c, [r[i] for r in rows]) for i, c in enumerate(columns)]
    empty = [all(str(r[i]) in EMPTY for r in rows) for i in range(len(columns))]
    order = sorted((i for i, c in enumerate(columns) if c.priority > 1),
                   key=lambda i: (not empty[i], -columns[i].priority, -i))
    keep = set(range(len(columns)))
    for i in order:
        if sum(widths[k] for k in keep) <= width:
            break
        keep.discard(i)
    return sorted(keep)


def available_width(table: DataTable[Any]) -> int:
    """The width the table can give its columns (the terminal's before the first layout)."""
    width = table.size.width or table.app.size.width
    return max(10, width - SCROLLBAR)


def fit_table(table: DataTable[Any], columns: Sequence[Column], rows: list[tuple[str, list[Any]]]) -> list[str]:
    """Show `rows` (filtered by the screen's filter) in the columns that fit the table's width;
    return the labels of the hidden columns."""
    rows = filtered(table, rows)
    keep = kept(columns, [cells for _, cells in rows], available_width(table))
    keys = [columns[i].key for i in keep]
    if [str(k.value) for k in table.columns] != keys:
        table.clear(columns=True)
        for i in keep:
            table.add_column(columns[i].label, key=columns[i].key)
    replace_rows(table, [(key, [cells[i] for i in keep]) for key, cells in rows])
    return [c.label or c.key for i, c in enumerate(columns) if i not in keep]


def hidden_note(hidden: Sequence[str]) -> str:
    """'' or '; hidden: canary, shadow' (the columns this width leaves out)."""
    return f"; hidden: {', '.join(hidden)}" if hidden else ""
