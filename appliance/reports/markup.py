"""Small HTML pieces every report section shares."""

from __future__ import annotations

from html import escape


def empty(text: str) -> str:
    """A section's note that it has nothing to show, as written (escaped)."""
    return f'<p class="empty">{escape(text)}</p>'
