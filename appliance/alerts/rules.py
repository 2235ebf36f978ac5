"""Alert rules: which observed value, compared with what, for how many consecutive windows.

Rules live in `<home>/alerts.toml` as `[[rule]]` tables. Without that file the built-in rules
below apply; with it, exactly its rules apply (copy the defaults from `vigil alerts rules`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from appliance.errors import ConfigError
from appliance.field_errors import field_errors

RULES_FILE = "alerts.toml"
METRICS = {
    # drift, per feature and '(prediction)'
    "psi": "drift", "js": "drift", "unseen_share": "drift", "missing_increase": "drift",
    # multivariate drift, '(multivariate)': the window's mean PCA reconstruction error, and how many of the
    # reference's chunk standard deviations it lies from the reference's mean (its band is 3 of them)
    "reconstruction_error": "drift", "reconstruction_sigmas": "drift",
    # data quality, per feature or '(model)'
    "missing_rate": "quality", "rejected_share": "quality", "flagged_share": "quality", "volume_ratio": "quality",
    # outcomes, '(model)'
    "roc_auc": "outcomes", "accuracy": "outcomes", "brier": "outcomes", "mae": "outcomes", "rmse": "outcomes",
    "label_coverage": "outcomes",
    # the label feed, '(model)': raw figures, and ratios to the model's label_* settings (1 = at the limit)
    "label_coverage_due": "labels", "label_age_s": "labels", "label_delay_s": "labels",
    "label_coverage_ratio": "labels", "label_age_ratio": "labels", "label_delay_ratio": "labels",
    # performance estimated without labels (CBPE, DLE), '(model)': the champion's whole-window estimates, and
    # estimate_alert (1 when any of them left the band of its holdout's own chunks)
    "estimated_roc_auc": "estimates", "estimated_accuracy": "estimates", "estimated_f1": "estimates",
    "estimated_precision": "estimates", "estimated_recall": "estimates", "estimated_mae": "estimates",
    "estimated_rmse": "estimates", "estimate_alert": "estimates",
    # system, '(model)'
    "p99_latency_ms": "system", "error_rate": "system", "requests_per_s": "system",
    # service level objectives, the objective ('availability', 'latency', 'quality', 'label_coverage', 'drift'):
    # how far the strongest burn-rate window pair of each severity is past firing (above 1: both its windows
    # burn faster than its threshold), and the share of the objective's error budget spent (above 1: overspent)
    "slo_burn_page": "slo", "slo_burn_ticket": "slo", "slo_budget_spent": "slo",
    # jobs, the job's name
    "job_failed": "jobs",
    # the box, 'home'
    "disk_free_share": "system",
}
Metric = Literal["psi", "js", "unseen_share", "missing_increase", "reconstruction_error", "reconstruction_sigmas",
                 "missing_rate", "rejected_share", "flagged_share",
                 "volume_ratio", "roc_auc", "accuracy", "brier", "mae", "rmse", "label_coverage",
                 "label_coverage_due", "label_age_s", "label_delay_s", "label_coverage_ratio", "label_age_ratio",
                 "label_delay_ratio",
                 "estimated_roc_auc", "estimated_accuracy", "estimated_f1", "estimated_precision", "estimated_recall",
                 "estimated_mae", "estimated_rmse", "estimate_alert", "p99_latency_ms",
                 "slo_burn_page", "slo_burn_ticket", "slo_budget_spent",
                 "error_rate", "requests_per_s", "job_failed", "disk_free_share"]


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    metric: Metric
    above: float | None = None
    below: float | None = None
    windows: int = Field(1, ge=1, le=1000, description="consecutive breaching windows before the alert opens")
    severity: Literal["warning", "critical"] = "warning"
    model: str = "*"
    subject: str = "*"  # a feature, '(prediction)', '(model)', a job name, or '*'
    calibrated: bool = Field(False, description="where the model's drift thresholds are calibrated "
                             "(monitoring.false_page_budget_days), compare with the subject's calibrated threshold "
                             "of this rule's severity instead of `above`")
    description: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> "AlertRule":
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        return self

    @property
    def threshold(self) -> float:
        return float(self.above if self.above is not None else self.below)  # type: ignore[arg-type]

    def threshold_for(self, bounds: tuple[float, float] | None) -> float:
        """The bound this rule applies to a value: its own, or (a `calibrated` rule, a value with calibrated
        (warning, critical) bounds) the one of its severity."""
        if self.calibrated and bounds is not None and self.above is not None:
            return float(bounds[1] if self.severity == "critical" else bounds[0])
        return self.threshold

    def breached(self, value: float | None, threshold: float | None = None) -> bool:
        if value is None or value != value:
            return False
        bound = self.threshold if threshold is None else threshold
        return value > bound if self.above is not None else value < bound

    def applies(self, model_name: str, metric: str, subject: str) -> bool:
        return (self.metric == metric and self.model in ("*", model_name)
                and self.subject in ("*", subject))

    def describe(self) -> str:
        bound = f"above {self.above:g}" if self.above is not None else f"below {self.below:g}"
        scope = "" if self.subject == "*" else f" of {self.subject}"
        runs = "" if self.windows == 1 else f" for {self.windows} consecutive windows"
        return f"{self.metric}{scope} {bound}{runs}"


DEFAULT_RULES = [
    AlertRule(name="drift-critical", metric="psi", above=0.25, windows=2, severity="critical", calibrated=True,
              description="A feature's or the score's distribution moved far from the reference (PSI > 0.25, or "
                          "above the feature's calibrated critical threshold)."),
    AlertRule(name="drift-warning", metric="psi", above=0.1, windows=2, severity="warning", calibrated=True,
              description="A feature's distribution is moving (PSI between 0.1 and 0.25, or above the feature's "
                          "calibrated warning threshold)."),
    AlertRule(name="multivariate-drift", metric="reconstruction_sigmas", above=3.0, windows=2, severity="warning",
              description="How the features move together changed: the inputs' PCA reconstruction error left the "
                          "band of the training rows' own chunks (more than 3 standard deviations from their mean)."),
    AlertRule(name="unseen-categories", metric="unseen_share", above=0.05, windows=2, severity="warning",
              description="More than 5% of a categorical feature's values were never seen in training."),
    AlertRule(name="missing-values-rising", metric="missing_increase", above=0.1, windows=2, severity="critical",
              description="A feature's missing rate rose by more than 10 points over the reference."),
    AlertRule(name="requests-rejected", metric="rejected_share", above=0.05, windows=2, severity="warning",
              description="More than 5% of scoring requests were refused by the contract."),
    AlertRule(name="traffic-dropped", metric="volume_ratio", below=0.2, windows=3, severity="warning",
              description="Traffic is below a fifth of the usual volume for this time of day."),
    AlertRule(name="latency-p99", metric="p99_latency_ms", above=250.0, windows=3, severity="warning",
              description="Per-request p99 latency above 250 ms."),
    AlertRule(name="client-errors", metric="error_rate", above=0.05, windows=3, severity="warning",
              description="More than 5% of scoring requests answered with a client error."),
    AlertRule(name="labels-stopped", metric="label_coverage", below=0.01, windows=6, severity="warning",
              description="Almost no predictions get ground-truth labels: the feedback loop may have stopped."),
    AlertRule(name="label-coverage-low", metric="label_coverage_ratio", below=1.0, windows=2, severity="warning",
              description="Fewer predictions have a label by their due time than the model's "
                          "label_coverage_target: the labelling pipeline is missing cases."),
    AlertRule(name="labels-stale", metric="label_age_ratio", above=1.0, windows=1, severity="warning",
              description="No label has arrived for longer than the model's label_max_age while predictions "
                          "fell due: the label feed has stopped."),
    AlertRule(name="labels-late", metric="label_delay_ratio", above=1.0, windows=2, severity="warning",
              description="Labels take longer than the model's label_max_delay to arrive (median): outcome "
                          "metrics lag behind."),
    AlertRule(name="estimated-performance", metric="estimate_alert", above=0.5, windows=2, severity="warning",
              description="Performance estimated without labels (CBPE; DLE for regression) left the band of the "
                          "holdout's own chunks; see `vigil estimate NAME` and docs/monitoring.md."),
    AlertRule(name="slo-burn-page", metric="slo_burn_page", above=1.0, windows=1, severity="critical",
              description="An objective's error budget burns fast: over both windows of a pair (1h and 5m, or 6h "
                          "and 30m) faster than spends 2% (5%) of the budget in the long one; see `vigil slo NAME`."),
    AlertRule(name="slo-burn-ticket", metric="slo_burn_ticket", above=1.0, windows=1, severity="warning",
              description="An objective's error budget burns steadily: over 1d and 2h, or 3d and 6h, faster than "
                          "spends 10% of the budget in the long window."),
    AlertRule(name="slo-budget-spent", metric="slo_budget_spent", above=1.0, windows=1, severity="warning",
              description="An objective spent more than its whole error budget over its window."),
    AlertRule(name="job-failed", metric="job_failed", above=0.5, windows=1, severity="warning",
              description="A scheduled job failed; see `vigil jobs`."),
    AlertRule(name="disk-low", metric="disk_free_share", below=0.1, windows=1, severity="critical",
              description="Less than 10% of the home's file system is free: the prediction log and new "
                          "versions will soon fail to write."),
]


def load_rules(home: Path) -> list[AlertRule]:
    path = home / RULES_FILE
    if not path.exists():
        return list(DEFAULT_RULES)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML ({e}); fix the file") from e
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)}; rules are [[rule]] tables")
    rules = []
    for index, table in enumerate(data.get("rule", [])):
        try:
            rules.append(AlertRule.model_validate(table))
        except ValidationError as e:
            problems = "; ".join(f"{p['field']}: {p['problem']}" for p in field_errors(e))
            raise ConfigError(f"{path}: rule {index + 1} ({table.get('name', '?')}): {problems}; fix the file") from e
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: rule names must be unique; {', '.join(duplicates)} repeat")
    return rules


def render_rules(rules: list[AlertRule]) -> str:
    """The rules as `alerts.toml` text (what `vigil alerts rules` prints)."""
    lines = ["# Vigil alert rules. With this file in the home, exactly these rules apply.", ""]
    for rule in rules:
        lines.append("[[rule]]")
        for key, value in rule.model_dump(exclude_none=True).items():
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
