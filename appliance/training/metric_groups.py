"""A version's metrics grouped for reading: the overall values, per-class precision and recall, and the
confusion matrix (multiclass metric names are `precision:<class>`, `recall:<class>` and
`confusion:<true>:<predicted>`, see appliance/training/multiclass_metrics.py).

>>> found = group_metrics({"log_loss": 0.5, "precision:a": 1.0, "recall:a": 0.5, "precision:b": 0.5,
...                        "recall:b": 1.0, "confusion:a:a": 1.0, "confusion:a:b": 1.0, "confusion:b:a": 0.0,
...                        "confusion:b:b": 2.0})
>>> found.overall, found.classes, found.per_class["b"], found.confusion
({'log_loss': 0.5}, ['a', 'b'], {'precision': 0.5, 'recall': 1.0}, [[1.0, 1.0], [0.0, 2.0]])
>>> print("\\n".join(metric_lines({"log_loss": 0.5, "precision:a": 1.0, "recall:a": 0.5, "confusion:a:a": 3.0})))
log_loss=0.500000
class  precision  recall
a         1.0000  0.5000
confusion (rows: true class, columns: predicted)
       a
a      3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

PER_CLASS = ("precision", "recall")


@dataclass(frozen=True, slots=True)
class MetricGroups:
    overall: dict[str, float | None]  # metrics that are not per class
    classes: list[str]  # in the version's order when given, else in the order the metrics name them
    per_class: dict[str, dict[str, float | None]]  # class -> {"precision": ..., "recall": ...}
    confusion: list[list[float | None]]  # rows: true class, columns: predicted class (counts)

    @property
    def multiclass(self) -> bool:
        return bool(self.classes)


def group_metrics(metrics: Mapping[str, Any], classes: Sequence[str] | None = None) -> MetricGroups:
    """Split metric names into overall values, per-class values and the confusion matrix."""
    overall: dict[str, float | None] = {}
    per_class: dict[str, dict[str, float | None]] = {}
    counts: dict[tuple[str, str], float | None] = {}
    named: list[str] = list(classes or [])
    for name, value in metrics.items():
        kind, _, rest = name.partition(":")
        if kind in PER_CLASS and rest:
            per_class.setdefault(rest, {})[kind] = value
            _note(named, rest)
        elif kind == "confusion" and rest.count(":") >= 1:
            true, predicted = _split_pair(rest, named)
            counts[(true, predicted)] = value
            _note(named, true)
            _note(named, predicted)
        else:
            overall[name] = value
    order = named if (per_class or counts) else []
    return MetricGroups(overall, order, {c: {k: per_class.get(c, {}).get(k) for k in PER_CLASS} for c in order},
                        [[counts.get((t, p)) for p in order] for t in order] if counts else [])


def metric_lines(metrics: Mapping[str, Any], classes: Sequence[str] | None = None,
                 number: Callable[[Any], str] | None = None) -> list[str]:
    """Metrics as text: one line of overall values, then (multiclass) a per-class table and the confusion
    matrix, each class on its own line instead of every count on one line."""
    fmt = number or _number
    groups = group_metrics(metrics, classes)
    lines = ["  ".join(f"{k}={fmt(v)}" for k, v in groups.overall.items())]
    if not groups.multiclass:
        return lines
    width = max(len("class"), *(len(c) for c in groups.classes))
    lines.append(f"{'class':<{width}}  precision  recall")
    for name in groups.classes:
        values = groups.per_class[name]
        lines.append(f"{name:<{width}}  {_short(values['precision']):>9}  {_short(values['recall']):>6}")
    if groups.confusion:
        cells = [[_count(v) for v in row] for row in groups.confusion]
        column = max(len(c) for c in [*groups.classes, *(v for row in cells for v in row)])
        lines.append("confusion (rows: true class, columns: predicted)")
        lines.append(" " * width + "".join(f"  {c:>{column}}" for c in groups.classes))
        for name, row in zip(groups.classes, cells):
            lines.append(f"{name:<{width}}" + "".join(f"  {v:>{column}}" for v in row))
    return lines


def _note(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _split_pair(text: str, known: Sequence[str]) -> tuple[str, str]:
    """'<true>:<predicted>' split at the colon that leaves a known class on the left (class names may
    hold colons); the first colon otherwise."""
    for name in known:
        if text.startswith(name + ":"):
            return name, text[len(name) + 1:]
    true, _, predicted = text.partition(":")
    return true, predicted


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.6f}"


def _short(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _count(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"
