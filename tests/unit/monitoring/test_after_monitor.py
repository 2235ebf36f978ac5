"""The after-monitor policy's drift rule: a retrain when the critical streak reaches its length, once."""

from __future__ import annotations

from appliance.monitoring.after_monitor import drift_streak_complete


def test_a_streak_of_exactly_the_needed_length_retrains() -> None:
    assert drift_streak_complete(["critical", "critical", "warning"], 2)
    assert drift_streak_complete(["critical", "critical"], 2)  # no older run yet
    assert drift_streak_complete(["critical", None], 1)


def test_a_streak_that_goes_on_does_not_retrain_again() -> None:
    assert not drift_streak_complete(["critical", "critical", "critical"], 2)


def test_a_broken_or_short_streak_does_not_retrain() -> None:
    assert not drift_streak_complete(["warning", "critical", "critical"], 2)
    assert not drift_streak_complete(["critical", None, "critical"], 2)  # a run with no drift computed breaks it
    assert not drift_streak_complete(["critical"], 2)
    assert not drift_streak_complete([], 1)


def test_no_windows_asked_for_means_never() -> None:
    assert not drift_streak_complete(["critical", "critical"], 0)
