"""Error budgets and burn rates: the arithmetic of service level objectives, as pure functions.

An objective is a target share of good events over a window (99.5% of requests answered without a
server error, over 30 days). Its error budget is the share of events allowed to be bad, `1 - target`.
The burn rate over a span is the bad share in that span divided by the budget: at burn rate 1 the
budget lasts exactly the objective's window; at 14.4 a 30-day budget is gone in 50 hours.

The burn-rate alerts are the SRE workbook's multiwindow, multi-burn-rate alerts: a pair of windows
fires when the burn rate over BOTH its long window and its short window (a twelfth of the long one)
is above the pair's threshold. The long window says the burn is significant, the short one that it is
still going on, so the alert clears minutes after the burn stops. Each threshold is the rate that
spends a given share of the budget within the long window: 2% in 1 h and 5% in 6 h page, 10% in 1 d
and 10% in 3 d open a ticket; over a 30-day objective these are the workbook's 14.4, 6, 3 and 1.

>>> round(burn_rate(bad=10, total=1000, target=0.995), 6)
2.0
>>> threshold(PAIRS[0], timedelta(days=30))
14.4
>>> budget_left(bad=10, total=1000, target=0.995)
-1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

DIGITS = 9  # burn rates are compared after rounding, so exactly the target rate is never "above" it
NEVER = timedelta(days=36525)  # a budget lasting longer than a century at the current rate is not being spent


@dataclass(frozen=True, slots=True)
class BurnPair:
    """One multiwindow alert: fires when both windows burn faster than spending `budget_share` of the
    budget within `long`."""

    severity: str  # "page" or "ticket"
    long: timedelta
    short: timedelta
    budget_share: float

    @property
    def name(self) -> str:
        return f"{_span(self.long)}/{_span(self.short)}"


PAIRS = (
    BurnPair("page", timedelta(hours=1), timedelta(minutes=5), 0.02),
    BurnPair("page", timedelta(hours=6), timedelta(minutes=30), 0.05),
    BurnPair("ticket", timedelta(days=1), timedelta(hours=2), 0.10),
    BurnPair("ticket", timedelta(days=3), timedelta(hours=6), 0.10),
)


def threshold(pair: BurnPair, window: timedelta) -> float:
    """The burn rate at which `pair.budget_share` of a `window`-long budget is spent within `pair.long`, but
    never below 1: a burn at or under 1 cannot spend the budget within its window, so it alerts nobody
    (objectives shorter than 30 days would otherwise page on burns their budget can carry)."""
    return max(1.0, round(pair.budget_share * (window / pair.long), DIGITS))


def burn_rate(bad: int, total: int, target: float) -> float | None:
    """Bad share over the error budget; None without events (nothing was measured)."""
    if total <= 0:
        return None
    return round((bad / total) / (1.0 - target), DIGITS)


def budget_left(bad: int, total: int, target: float) -> float | None:
    """Share of the window's error budget not yet spent (negative: overspent); None without events."""
    burned = burn_rate(bad, total, target)
    return None if burned is None else round(1.0 - burned, DIGITS)


def exhausted_in(left: float | None, rate: float | None, window: timedelta) -> timedelta | None:
    """How long the budget left lasts at burn rate `rate`: zero when already spent, None when it is not
    being spent (or nothing was measured, or it would last beyond a century: no clock says when)."""
    if left is None:
        return None
    if left <= 0:
        return timedelta(0)
    if not rate or left / rate * window.total_seconds() > NEVER.total_seconds():
        return None
    return window * (left / rate)


def pair_ratio(pair: BurnPair, window: timedelta, long_burn: float | None, short_burn: float | None) -> float:
    """How far the pair is past firing: the smaller of its windows' burn rates over its threshold (it fires
    above 1). A window without enough events counts as not burning (0)."""
    if long_burn is None or short_burn is None:
        return 0.0
    limit = threshold(pair, window)
    return round(min(long_burn, short_burn) / limit, DIGITS)


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_span(span: timedelta) -> str:
    """A span as an on-call engineer reads it: '2d 3h', '45m'."""
    minutes = int(span.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{mins}m"] * bool(mins and not days)
    return " ".join(parts) or "under a minute"
