"""How a check of past periods prints: one line per chunk with its rows, drift, data quality and
realized performance (`vigil monitor run --from/--to/--chunk` and `vigil history`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.cli.output import emit, table

# The realized metric a chunk line shows, first found: AUC (binary), accuracy (multiclass), MAE (regression).
HEADLINE_METRICS = ("roc_auc", "accuracy", "mae")


def chunk_table(chunks: list[dict[str, Any]]) -> str:
    """The chunks as a table; an empty cell is a part with no data (no champion rows, no labels)."""
    rows = [[c["model"], _when(c["start"]), _when(c["end"]), c["rows"], c["drift"] or "-",
             _worst(c), c["quality_problems"] if c["quality_problems"] is not None else "-",
             c["labelled"], _share(c["coverage"]), *_headline(c["metrics"]),
             "pages" if c["alerting"] else "stored", c["run_id"]] for c in chunks]
    return table(["model", "from", "to", "rows", "drift", "worst psi", "quality", "labels", "coverage", "metric",
                  "value", "alerts", "run"], rows)


def show_chunks(result: dict[str, Any]) -> None:
    emit(chunk_table(result["chunks"]))
    axes = sorted({c["axis"] for c in result["chunks"]})
    emit(f"{len(result['chunks'])} chunk(s) by {' and '.join(axes) or 'event'} time; 'stored' chunks are history: "
         "kept as monitor runs, no alert rule applied")
    for check in result["checks"]:
        for alert in check["alerts"]:
            emit(f"  alert {alert['alert_id']} {alert['change']}: [{alert['severity']}] {alert['message']}")


def _when(moment: Any) -> str:
    """A chunk edge: the date alone at midnight, else to the minute (results may carry ISO text)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment[:16]
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d") if (moment.hour, moment.minute, moment.second) == (0, 0, 0) \
            else moment.strftime("%Y-%m-%d %H:%M")
    return str(moment)[:16]


def _worst(chunk: dict[str, Any]) -> str:
    if chunk["worst_psi"] is None:
        return "-"
    return f"{chunk['worst_psi']:.3f} {chunk['worst_feature']}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _headline(metrics: dict[str, Any]) -> list[str]:
    for name in HEADLINE_METRICS:
        if metrics.get(name) is not None:
            return [name, f"{metrics[name]:.4f}"]
    return ["-", "-"]


def show_history(result: Any, args: Any) -> int:
    """`vigil history`: what was scored and labelled, then the chunk table."""
    if args.json:
        from appliance.cli.output import to_json

        emit(to_json(result))
        return 0
    batch = result["batch"]
    emit(f"{result['model']} v{batch['version']}: scored {batch['scored']:,} of {batch['rows']:,} rows as "
         f"{batch['batch_id']} ({batch['rejected']:,} rejected), event times from "
         f"{batch['event_time_column'] or '(none: arrival time)'}; output {batch['output']}")
    if result["labels"]:
        emit("labels: " + ", ".join(f"{count:,} {status}" for status, count in result["labels"].items()))
    emit(f"event time {_when(result['from'])} .. {_when(result['to'])}, chunks of {result['chunk']}:")
    show_chunks(result)
    return 0
