"""The records passed between packages: a metric row, a comparison with the champion, a snapshot,
a scoring plan's record and everything known about a new version before it is registered.

They live below training, plans and the registry because each of those makes or reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appliance.clock import utc_now
from appliance.core.blobs import Blob

PRIMARY = {"binary": ("roc_auc", True), "regression": ("mae", False),
           "multiclass": ("log_loss", False)}  # metric, higher is better


@dataclass(frozen=True, slots=True)
class MetricRow:
    segment_column: str | None
    segment_value: str | None
    metric: str
    value: float | None
    row_count: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """`difference` is version minus champion; the interval is the bootstrap percentile interval."""

    metric: str
    higher_is_better: bool
    version_value: float | None
    champion_value: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    resamples: int
    row_count: int

    @property
    def verdict(self) -> str:
        if self.ci_low is None or self.ci_high is None:
            return "undetermined"
        if self.ci_low > 0:
            return "better" if self.higher_is_better else "worse"
        if self.ci_high < 0:
            return "worse" if self.higher_is_better else "better"
        return "no significant difference"


@dataclass(frozen=True, slots=True)
class PlanRecord:
    blob: Blob
    checked_rows: int


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    blob: Blob
    source: str
    row_count: int
    time_column: str
    time_min: datetime
    time_max: datetime


@dataclass(slots=True)
class NewVersion:
    """Everything known about a version before it gets its number."""

    model_name: str
    task: str
    description: str
    origin: str  # 'trained' or 'imported'
    artifact: Blob
    snapshot: SnapshotInfo
    lineage: dict[str, Any]  # columns of model_versions not derived from the fields above
    metrics: list[MetricRow]
    comparison: Comparison | None
    champion_version: int | None
    comparison_note: str
    contract: dict[str, Any]
    actor: str
    reason: str
    created_at: datetime = field(default_factory=lambda: utc_now())
    plan: PlanRecord | None = None  # the artifact compiled to a scoring plan, when it has one
    importance: list[Any] = field(default_factory=list)  # training.importance.Importance per feature
    fairness: list[Any] = field(default_factory=list)  # training.fairness.FairnessRow per group and gap
    cost: dict[str, Any] | None = None  # training.cost.cost_row
    datasheet: list[Any] | None = None  # the snapshot's columns measured (store.datasheet_queries.measure)
