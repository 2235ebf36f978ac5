"""Health of a model's label feed: are labels still coming, for enough of the predictions, soon enough?

Three figures, each observed raw and, when the model's settings give a limit
(`monitoring.models.NAME.label_*`), as a ratio to that limit that the default rules test against 1:

- `label_coverage_due`: the share of rows answered in the `label_due` span that ended `label_due` ago
  (rows whose labels are due by now) that have a label; `label_coverage_ratio` = it / `label_coverage_target`.
- `label_age_s`: seconds since the newest label arrived; `label_age_ratio` = it / `label_max_age` when rows
  answered since the newest label are due by now, else 0 (no traffic due, no label expected).
- `label_delay_s`: the median time from prediction to label over the labels received in the last
  `label_due`; `label_delay_ratio` = it / `label_max_delay`.

A model that never received a label has no age and no delay: its coverage says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance.alerts.evaluation import Observation
from appliance.core.windows import parse_window
from appliance.store import label_queries as lq

SOURCE = "labels"


def label_feed(store: Any, settings: Any, model_name: str, now: datetime) -> list[Observation]:
    """The label feed's observations for a model at `now` (`settings`: the model's monitoring settings)."""
    due = parse_window(settings.label_due)
    figures = lq.feed_figures(store, model_name, now - 2 * due, now - due, now - due, now)
    found: list[Observation] = []
    if figures["due"]:
        coverage = figures["labelled"] / figures["due"]
        found.append(_observe("label_coverage_due", coverage))
        if settings.label_coverage_target is not None:
            found.append(_observe("label_coverage_ratio", coverage / settings.label_coverage_target))
    if figures["newest"] is not None:
        age = max((now - figures["newest"]).total_seconds(), 0.0)
        found.append(_observe("label_age_s", age))
        unlabelled_due = lq.answered_between(store, model_name, figures["newest"], now - due)
        if settings.label_max_age is not None:  # 0 while no prediction fell due since the newest label
            limit = parse_window(settings.label_max_age).total_seconds()
            found.append(_observe("label_age_ratio", age / limit if unlabelled_due else 0.0))
    if figures["median_delay_s"] is not None:
        delay = float(figures["median_delay_s"])
        found.append(_observe("label_delay_s", delay))
        if settings.label_max_delay is not None:
            found.append(_observe("label_delay_ratio", delay / parse_window(settings.label_max_delay).total_seconds()))
    return found


def _observe(metric: str, value: float) -> Observation:
    return Observation(SOURCE, metric, "(model)", float(value))
