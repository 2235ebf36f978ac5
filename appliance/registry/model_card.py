"""The generated model card (Markdown): intended use, data, metrics overall and per segment, limitations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.core.records import NewVersion

SMALL_SEGMENT = "row_count"


def render_model_card(new: "NewVersion", number: int) -> str:
    lineage = new.lineage
    parts = [
        f"# Model card: {new.model_name} v{number}",
        "",
        "## Intended use",
        new.description or f"Predicts `{lineage['target']}` ({_task(new.task)}).",
        "",
        f"Scores each record of the features below. Not validated outside the data's time range "
        f"({new.snapshot.time_min:%Y-%m-%d} to {new.snapshot.time_max:%Y-%m-%d}) or for categories it never saw.",
        "",
        "## Data",
        f"- Snapshot `{new.snapshot.blob.sha256[:16]}`: {new.snapshot.row_count} rows from `{new.snapshot.source.strip()}`",
        f"- Time column `{lineage['time_column']}`; holdout from {lineage['holdout_start']:%Y-%m-%d %H:%M} "
        f"({lineage['holdout_rows']} rows), training before it ({lineage['train_rows']} rows)",
        f"- Target `{lineage['target']}`" + (f", positive class `{lineage['positive_class']}`" if lineage.get("positive_class") else "")
        + (", classes " + ", ".join(f"`{c}`" for c in lineage["classes"]) if lineage.get("classes") else ""),
        "- Features: " + ", ".join(f"`{f['name']}` ({f['kind']})" for f in lineage["features"]),
        "",
        "## Training",
        f"- Origin: {new.origin}; estimator `{lineage['estimator']}`, seed {lineage['seed']}",
        f"- Hyperparameters: {_params(lineage['hyperparameters'])}",
        f"- Created by {new.actor} at {new.created_at:%Y-%m-%d %H:%M:%S} UTC; reason: {new.reason or '(none given)'}",
        "",
        "## Metrics on the holdout",
        *_overall_table(new),
        "",
        *_segment_section(new),
        *_importance_section(new),
        *_fairness_section(new),
        "## Compared with the champion",
        _comparison_text(new),
        "",
        "## Limitations",
        *_limitations(new),
        "",
    ]
    return "\n".join(parts)


def _importance_section(new: "NewVersion") -> list[str]:
    ranked = [i for i in new.importance if i.importance is not None]
    if not ranked:
        return []
    first = ranked[0]
    drop = "drop of holdout ROC AUC" if first.metric == "roc_auc" else "rise of holdout MAE"
    lines = ["## Feature importance",
             f"Permutation importance: the mean {drop} when a feature's values are shuffled "
             f"({first.repeats} repeats on {first.rows} holdout rows).", "",
             "| feature | importance | std |", "|---|---:|---:|"]
    lines += [f"| {i.feature} | {i.importance:.4f} | {i.std:.4f} |" for i in ranked[:10]]
    return [*lines, ""]


def _fairness_section(new: "NewVersion") -> list[str]:
    if not new.fairness:
        return []
    lines = ["## Fairness", "Per group of each protected attribute, on the holdout "
             f"(groups under {new.fairness[0].min_group_rows} rows are reported but not in the gaps).", ""]
    for attribute in dict.fromkeys(r.attribute for r in new.fairness):
        gaps = [r for r in new.fairness if r.attribute == attribute and r.group_value is None]
        lines.append(f"**{attribute}**: " + "; ".join(f"{r.metric.replace('_', ' ')} {_fmt(r.value)}" for r in gaps))
        groups = sorted({r.group_value for r in new.fairness if r.attribute == attribute and r.group_value})
        metrics = list(dict.fromkeys(r.metric for r in new.fairness if r.attribute == attribute and r.group_value
                                     and r.metric != "count"))
        lines += ["", "| group | rows | " + " | ".join(metrics) + " |", "|---|---:|" + "---:|" * len(metrics)]
        for group in groups:
            values = {r.metric: r for r in new.fairness if r.attribute == attribute and r.group_value == group}
            lines.append(f"| {group} | {values['count'].row_count} | "
                         + " | ".join(_fmt(values[m].value) for m in metrics) + " |")
        lines.append("")
    return lines


def _task(task: str) -> str:
    return {"binary": "binary classification", "multiclass": "multiclass classification"}.get(task, "regression")


def _params(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "defaults"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _overall_table(new: "NewVersion") -> list[str]:
    rows = ["| metric | value |", "|---|---|"]
    rows += [f"| {m.metric} | {_fmt(m.value)} |" for m in new.metrics if m.segment_column is None]
    return rows


def _segment_section(new: "NewVersion") -> list[str]:
    segmented = [m for m in new.metrics if m.segment_column is not None]
    if not segmented:
        return []
    key = {"binary": "roc_auc", "multiclass": "log_loss"}.get(new.task, "mae")
    lines = ["### Per segment", f"| segment | rows | {key} |", "|---|---|---|"]
    for m in segmented:
        if m.metric == key:
            lines.append(f"| {m.segment_column}={m.segment_value} | {m.row_count} | {_fmt(m.value)} |")
        elif m.metric == SMALL_SEGMENT:
            lines.append(f"| {m.segment_column}={m.segment_value} | {m.row_count} | too few rows |")
    return lines + [""]


def _comparison_text(new: "NewVersion") -> str:
    c = new.comparison
    if c is None:
        return new.comparison_note or "No champion to compare with."
    return (f"Against champion v{new.champion_version} on the same {c.row_count} holdout rows: {c.metric} "
            f"{_fmt(c.version_value)} vs {_fmt(c.champion_value)}, difference {_fmt(c.difference)} "
            f"({c.confidence:.0%} paired bootstrap interval {_fmt(c.ci_low)} to {_fmt(c.ci_high)}, "
            f"{c.resamples} resamples): {c.verdict}.")


def _limitations(new: "NewVersion") -> list[str]:
    notes = [
        f"- Trained on data from {new.snapshot.time_min:%Y-%m-%d} to {new.snapshot.time_max:%Y-%m-%d}; "
        "seasonal or structural change after that is not reflected.",
        "- Categories not seen in training are scored as unknown; values outside the contract's ranges "
        "are extrapolated.",
    ]
    small = sorted({f"{m.segment_column}={m.segment_value}" for m in new.metrics if m.metric == SMALL_SEGMENT})
    if small:
        notes.append(f"- Too few holdout rows to judge: {', '.join(small[:10])}" + (" …" if len(small) > 10 else ""))
    if new.origin == "imported":
        notes.append("- Imported: trained outside Vigil; its training data and code are not in the lineage.")
    return notes
