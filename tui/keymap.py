"""The help overlay's content, read from the screens' own key bindings and the command verbs, so the
help can't disagree with the keys or with `:`.

A binding's `tooltip` is its long description (the help's); its `description` the footer's short one.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from textual.binding import Binding
from textual.keys import format_key

from tui.commands import SCREENS, VERBS
from tui.dialogs import Section

KEY_NAMES = {"enter": "enter", "escape": "esc", "space": "space"}

EVERYWHERE: Sequence[tuple[str, str]] = (
    ("1 … 7", " · ".join(f"{i + 1} {name}" for i, name in enumerate(SCREENS))),
    ("?", "this help"),
    (":", "command mode (tab completes; see Commands)"),
    ("ctrl+p", "command palette: screens and models by fuzzy search"),
    ("/", "live filter of this screen's tables: narrows as you type; enter keeps it; esc clears it"),
    ("enter", "open what the selected row is about"),
    ("esc", "clear the filter, else go back (to the overview at the top)"),
    ("q", "quit"),
    ("ctrl+r", "refresh now"),
    ("j k ↓ ↑", "move down / up in a table; pgup/pgdn a page"),
    ("h l ← →", "scroll a wide table left / right (kept across refreshes)"),
    ("g G", "first / last row; tab moves to the next table"),
)
DANGER = ("Upper-case keys change what clients are served, start heavy work or close something for "
          "good; they ask first: y goes ahead, n / esc cancels, and enter cancels too.")


def key_label(key: str) -> str:
    """A binding's keys as the help shows them ('slash' -> '/', 'escape' -> 'esc')."""
    return " ".join(KEY_NAMES.get(k, format_key(k)) for k in key.split(","))


def binding_lines(bindings: Iterable[Binding | tuple[str, ...]]) -> list[tuple[str, str]]:
    """(keys, what) for each binding a screen declares itself, long description first."""
    lines = []
    for b in bindings:
        if isinstance(b, Binding) and b.action not in ("filter", "back"):
            lines.append((key_label(b.key), b.tooltip or b.description))
    return lines


def command_lines() -> list[tuple[str, str]]:
    """The verbs of `:`, with their aliases; the screens on one line."""
    lines = [(f":{v.usage}", v.summary + (f" (also :{', :'.join(v.aliases)})" if v.aliases else ""))
             for v in VERBS if v.name not in SCREENS]
    lines.append((":" + " :".join(SCREENS[:3]), "… or any screen by name; any unambiguous prefix works (:al)"))
    return lines


def help_sections(screens: Sequence[tuple[str, type]]) -> list[Section]:
    """Every key: those that work everywhere, each screen's own (from its BINDINGS), the commands."""
    sections: list[Section] = [("Everywhere", EVERYWHERE)]
    for title, screen in screens:
        lines = binding_lines(screen.__dict__.get("BINDINGS", ()))
        extra = getattr(screen, "HELP_LINES", ())
        if lines or extra:
            sections.append((title, [*lines, *extra]))
    sections.append(("Commands (after :)", command_lines()))
    sections.append(("Danger keys", [("R A X S T", DANGER)]))
    return sections
