"""Whether the CLI colours what it prints, and the few words it colours.

Colour is for a person at a terminal: it is on only when the stream is a terminal, and off with
`vigil --no-color` or the NO_COLOR environment variable (https://no-color.org: any non-empty
value); FORCE_COLOR (any non-empty value) turns it on for a stream that is no terminal. Only whole
status words in table cells are coloured — severities, verdicts and states — and colour is never the
only signal: the word is there either way, so output read by a program (piped, redirected) is the
same text as without colour, byte for byte.

Plain ANSI escape codes, no library: a table is built before any colour library would be worth
importing, and `vigil models` stays fast.
"""

from __future__ import annotations

import os
from typing import TextIO

RED, YELLOW, GREEN = "31;1", "33", "32"
WORDS = {
    **dict.fromkeys(("critical", "failed", "fail", "error", "rejected", "differ"), RED),
    **dict.fromkeys(("warning", "pending", "inconclusive"), YELLOW),
    **dict.fromkeys(("ok", "passed", "pass", "match", "approved", "applied", "resolved"), GREEN),
}

_switched_off = False  # `vigil --no-color`, for this run


def switch_off(off: bool) -> None:
    """Record `vigil --no-color` for this run (main sets it on every run, so it never outlives one)."""
    global _switched_off
    _switched_off = off


def enabled(stream: TextIO) -> bool:
    """Whether to colour what goes to `stream`: --no-color and NO_COLOR win, then FORCE_COLOR, then
    whether the stream is a terminal (not a dumb one)."""
    if _switched_off or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        is_terminal = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
    return is_terminal and os.environ.get("TERM", "") != "dumb"


def style_of(text: str) -> str | None:
    """The colour of a cell that is exactly one status word (any case), else None."""
    return WORDS.get(text.strip().lower())


def paint(text: str, style: str) -> str:
    """`text` in an ANSI style (a code from the constants above)."""
    return f"\x1b[{style}m{text}\x1b[0m"
