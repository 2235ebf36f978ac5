"""Text that reads the same in colour, in NO_COLOR and on light or dark terminals: sparklines and
bars from block characters, verdicts spelled out (colour only adds to the word)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"
VERDICT_STYLE = {"critical": "bold red", "warning": "yellow", "ok": "green", "FAILED": "bold red",
                 "failed": "bold red", "succeeded": "green"}
SEVERITY_ORDER = ("critical", "warning", "ok")


def sparkline(values: Sequence[float | None], width: int) -> str:
    """`values` squeezed into `width` block characters (the maximum of each slice), scaled to the largest."""
    numbers = [0.0 if v is None else float(v) for v in values]
    if not numbers:
        return ""
    width = max(1, min(width, len(numbers)))
    step = len(numbers) / width
    slices = [max(numbers[int(i * step):max(int(i * step) + 1, int((i + 1) * step))]) for i in range(width)]
    top = max(slices)
    if top <= 0:
        return BLOCKS[1] * width
    return "".join(BLOCKS[max(1, round(v / top * (len(BLOCKS) - 1)))] for v in slices)


def bar(value: float | None, full: float, width: int = 10) -> str:
    """A bar of `width` cells, full at `full`."""
    if value is None:
        return ""
    cells = max(0, min(width, round(value / full * width)))
    return "█" * cells + "·" * (width - cells)


def plain(text: str) -> str:
    """`text` with control characters shown escaped (`\\x1b`), newlines and tabs kept: stored text (a
    feature name from a training file, a reason, a request id) is anyone's, and an escape sequence in it
    would otherwise reach the terminal through the screen."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def escaped(text: Any) -> str:
    """Stored or typed text for a place that is Textual markup (a notification, a dialog's body): every
    `[` escaped and control characters shown escaped, so it reads as written. `rich.markup.escape` is not
    enough for Textual's parser: it leaves `[2J` alone, and a later `=` then stops the text from drawing."""
    return plain(str(text)).replace("[", "\\[")


def shown(text: Any) -> Text:
    """Stored or typed text as it is written: never parsed as markup, control characters escaped."""
    return Text(plain(str(text)), end="")


def verdict(word: str | None, text: str | None = None) -> Text:
    """`text` (default: the verdict itself) styled by the verdict, shown as written."""
    word = word or "-"
    return Text(plain(text or word), style=VERDICT_STYLE.get(word, ""))


def worst_severity(severities: Iterable[str | None]) -> str:
    """The worst of `severities` (critical, then warning, then ok), or '-' for none."""
    found = {s for s in severities if s}
    return next((s for s in SEVERITY_ORDER if s in found), "-")


def alert_counts(counts: dict[str, int]) -> Text:
    """Open alerts by severity, `2c 1w`, styled by the worst of them (`0` when none)."""
    text = " ".join(f"{n}{s[0]}" for s, n in sorted(counts.items()) if n) or "0"
    return Text(text, style=VERDICT_STYLE.get(worst_severity(s for s, n in counts.items() if n), ""))


def number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def when(value: Any) -> str:
    return str(value or "")[:19].replace("T", " ")


def version(value: Any) -> str:
    return "-" if value is None else f"v{value}"


SHORT_OBJECTIVE = {"availability": "avail", "label_coverage": "labels"}


def budget(found: dict[str, Any] | None) -> Text:
    """The error budget left of a model's least-funded objective, `latency 12%`, styled: critical once
    spent, warning under a quarter left; `-` before any objective measured anything."""
    if found is None:
        return Text("-")
    left = found["budget_left"]
    word = "critical" if left <= 0 else "warning" if left < 0.25 else "ok"
    return Text(f"{SHORT_OBJECTIVE.get(found['objective'], found['objective'])} {left:.0%}", style=VERDICT_STYLE[word])


def owner(label: str | None) -> Text:
    """A model's owner as written, or `no owner` styled as a warning (`vigil doctor` names it too)."""
    return Text("no owner", style=VERDICT_STYLE["warning"]) if not label else shown(label)
