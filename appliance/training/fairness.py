"""Evaluation per group of each protected attribute, and the gaps between groups.

Binary models, per group: count, selection rate (share predicted positive at the version's
threshold), true and false positive rates, ROC AUC. Gaps over groups with at least the minimum rows:
demographic parity difference (largest minus smallest selection rate) and equalized odds difference
(the larger of the TPR gap and the FPR gap). Regression: count, mean prediction and MAE per group,
and the MAE gap. Multiclass: count, accuracy (of the most probable class) and log loss per group,
and the accuracy gap. Smaller groups are reported with their numbers but left out of the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl


@dataclass(frozen=True, slots=True)
class FairnessRow:
    attribute: str
    group_value: str | None
    metric: str
    value: float | None
    row_count: int
    min_group_rows: int


def _rate(hits: np.ndarray, among: np.ndarray) -> float | None:
    return float(hits[among].mean()) if among.any() else None


def evaluate_groups(task: str, frame: pl.DataFrame, protected: list[str], y: np.ndarray, scores: np.ndarray,
                    threshold: float, min_group_rows: int) -> list[FairnessRow]:
    from sklearn.metrics import roc_auc_score

    rows: list[FairnessRow] = []
    for attribute in protected:
        values = frame[attribute].cast(pl.String).fill_null("(missing)").to_numpy()
        judged: dict[str, dict[str, float | None]] = {}
        for group in np.unique(values):
            member = values == group
            n = int(member.sum())
            if task == "binary":
                chosen = scores[member] >= threshold
                truth = y[member] == 1
                found: dict[str, float | None] = {
                    "count": float(n), "selection_rate": float(chosen.mean()),
                    "tpr": _rate(chosen, truth), "fpr": _rate(chosen, ~truth),
                    "roc_auc": float(roc_auc_score(truth, scores[member])) if 0 < truth.sum() < n else None}
            elif task == "multiclass":
                found = _multiclass_group(y[member], scores[member])
            else:
                found = {"count": float(n), "mean_prediction": float(scores[member].mean()),
                         "mae": float(np.abs(scores[member] - y[member]).mean())}
            rows += [FairnessRow(attribute, str(group), m, v, n, min_group_rows) for m, v in found.items()]
            if n >= min_group_rows:
                judged[str(group)] = found
        rows += [FairnessRow(attribute, None, m, v, sum(int(g["count"] or 0) for g in judged.values()),
                             min_group_rows) for m, v in gaps(task, judged).items()]
    return rows


def gaps(task: str, groups: dict[str, dict[str, float | None]]) -> dict[str, float | None]:
    def spread(metric: str) -> float | None:
        found = [float(value) for g in groups.values() if (value := g.get(metric)) is not None]
        return max(found) - min(found) if len(found) >= 2 else None

    if task == "multiclass":
        return {"accuracy_difference": spread("accuracy")}
    if task != "binary":
        return {"mae_difference": spread("mae")}
    tpr, fpr = spread("tpr"), spread("fpr")
    odds = None if tpr is None and fpr is None else max(v for v in (tpr, fpr) if v is not None)
    return {"demographic_parity_difference": spread("selection_rate"), "equalized_odds_difference": odds}


def _multiclass_group(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    from appliance.training.multiclass_metrics import log_loss

    return {"count": float(len(y)), "accuracy": float(np.mean(np.argmax(p, axis=1) == y)),
            "log_loss": log_loss(y, p)}


def worst_pair(groups: dict[str, dict[str, Any]], metric: str) -> str:
    """'a 0.31 vs b 0.12': the groups with the highest and lowest value of `metric`."""
    found = {g: v[metric] for g, v in groups.items() if v.get(metric) is not None}
    if len(found) < 2:
        return ""
    high, low = max(found, key=found.__getitem__), min(found, key=found.__getitem__)
    return f"{high} {found[high]:.3f} vs {low} {found[low]:.3f}"
