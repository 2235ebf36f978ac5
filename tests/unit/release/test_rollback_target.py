"""The last known-good version, from a champion history (pure functions of release/rollback.py)."""

from __future__ import annotations

from typing import Any

from appliance.release.rollback import known_good, last_endings


def history(*moves: tuple[int, str]) -> list[dict[str, Any]]:
    """Champion moves in order: (to_version, kind)."""
    return [{"id": i + 1, "to_version": version, "kind": kind} for i, (version, kind) in enumerate(moves)]


def test_the_version_champion_replaced_is_known_good() -> None:
    endings = last_endings(history((1, "move"), (2, "move")), current=2)
    assert endings == [(1, "move")] and known_good(endings) == (1, [])


def test_a_second_rollback_does_not_flip_back() -> None:
    moves = history((1, "move"), (2, "move"), (1, "rollback"))
    assert last_endings(moves, current=1) == [(2, "rollback")]
    assert known_good(last_endings(moves, current=1)) == (None, [2])


def test_rolled_away_versions_are_skipped_most_recent_first() -> None:
    moves = history((1, "move"), (2, "move"), (3, "move"), (2, "rollback"), (4, "move"))
    endings = last_endings(moves, current=4)
    assert endings == [(2, "move"), (3, "rollback"), (1, "move")]
    assert known_good(endings) == (2, [])
    moves = history((1, "move"), (2, "move"), (3, "move"), (4, "move"), (3, "rollback"))
    assert known_good(last_endings(moves, current=3)) == (2, [4])


def test_a_version_is_judged_by_its_last_time_as_champion() -> None:
    bad_again = history((1, "move"), (3, "move"), (1, "move"), (3, "move"), (1, "rollback"))
    assert known_good(last_endings(bad_again, current=1)) == (None, [3])
    good_again = history((1, "move"), (3, "move"), (1, "rollback"), (3, "move"), (4, "move"))
    assert known_good(last_endings(good_again, current=4)) == (3, [])
