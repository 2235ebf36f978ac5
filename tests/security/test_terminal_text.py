"""Stored text is anyone's: a reason, a label or a request id may hold terminal escape sequences. The CLI
prints tables and errors with control characters shown escaped, so reading the audit log or a SQL result
never drives the reader's terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from support import Result


def test_a_table_cell_with_an_escape_sequence_is_printed_escaped(home: Path, cli: Callable[..., Result]) -> None:
    done = cli("sql", "SELECT chr(27) || '[2J' || 'gone' AS wipe, 'two' || chr(10) || 'lines' AS folded",
               "--home", home)
    assert done.code == 0, done.err
    assert "\x1b" not in done.out and "\\x1b[2Jgone" in done.out
    assert "two\\nlines" in done.out and len(done.out.strip().splitlines()) == 2  # header and one row


def test_an_error_quoting_hostile_text_is_one_escaped_line(home: Path, cli: Callable[..., Result]) -> None:
    done = cli("show", "\x1b]0;owned\x07model", "1", "--home", home)
    assert done.code == 2 and "\x1b" not in done.err and "\x07" not in done.err
    assert "\\x1b]0;owned\\x07model" in done.err and len(done.err.strip().splitlines()) == 1, done.err
